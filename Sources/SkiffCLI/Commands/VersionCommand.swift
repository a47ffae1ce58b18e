import ArgumentParser
import SkiffServer

/// `skiff version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the version of this skiff binary.",
        discussion: """
            The client and the server are the same binary, so this is also the version \
            `skiff server` runs.

              skiff version
              skiff version --output json
            """
    )

    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormat = .table

    func run() throws {
        if let text = try output.encode(["version": Server.version]) {
            Console.out(text)
        } else {
            Console.out("skiff \(Server.version)\n")
        }
    }
}
