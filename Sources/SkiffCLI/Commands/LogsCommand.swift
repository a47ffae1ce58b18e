import ArgumentParser
import AsyncHTTPClient
import NIOCore
import SkiffModel

/// `skiff logs`: the instances' output, printed as it arrives.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the output of a service's instances.",
        discussion: """
            Each line is prefixed with the instance it came from. With --follow the command \
            keeps printing new lines until interrupted. With --ended it starts with the \
            instances that no longer run (replaced, scaled down, crashed for good), whose logs \
            the server keeps for a while (skiff server --instance-log-retention, 24h by default).

              skiff logs web --tail 20
              skiff logs web --follow
              skiff logs web --ended --tail 50
            """
    )

    @Argument(help: "The service name.")
    var name: String

    @Flag(name: [.short, .long], help: "Keep printing new lines as they are written.")
    var follow = false

    @Option(help: ArgumentHelp("Start with only the last N lines of each instance.", valueName: "n"))
    var tail: Int?

    @Flag(help: "Also print the logs of instances that have ended, first.")
    var ended = false

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try ServiceName.validateArgument(name)
        if let tail, tail < 0 { throw ValidationError("invalid --tail \(tail): must be 0 or more") }
        if global.output != .table { throw ValidationError("skiff logs prints text; --output does not apply") }
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        try await global.withClient { client in
            let body = try await client.logs(of: name, follow: follow, tail: tail, ended: ended)
            do {
                for try await chunk in body {
                    Console.out(chunk)
                }
            } catch {
                throw CLIError(.unreachable, "the log stream from \(client.server) broke off: \(error)", cause: error)
            }
        }
    }
}
