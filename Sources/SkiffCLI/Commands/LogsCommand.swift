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
            keeps printing new lines until interrupted.

              skiff logs web --tail 20
              skiff logs web --follow
            """
    )

    @Argument(help: "The service name.")
    var name: String

    @Flag(name: [.short, .long], help: "Keep printing new lines as they are written.")
    var follow = false

    @Option(help: ArgumentHelp("Start with only the last N lines of each instance.", valueName: "n"))
    var tail: Int?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try ServiceName.validateArgument(name)
        if let tail, tail < 0 { throw ValidationError("invalid --tail \(tail): must be 0 or more") }
        if global.output != .table { throw ValidationError("skiff logs prints text; --output does not apply") }
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        try await global.withClient { client in
            let body = try await client.logs(of: name, follow: follow, tail: tail)
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
