public import ArgumentParser
import Foundation
import SkiffServer

/// The `skiff` command tree: the server and every client command, as a library so that it
/// can be tested without a process.
public struct SkiffCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "skiff",
        abstract: "Run containers as serverless services on your own machine.",
        discussion: """
            Skiff takes an OCI image and serves it at a URL, like Cloud Run on a machine you own. \
            Start the server once, then load an image and deploy it:

              skiff server --data-dir /var/lib/skiff &
              skiff images load ./hello-layout:v1
              skiff deploy hello --image hello:v1
              curl http://hello.localhost:8080/
            """,
        version: Server.version,
        subcommands: [
            ServerCommand.self, LoginCommand.self, DeployCommand.self, ApplyCommand.self, ExportCommand.self,
            ServicesCommand.self, RevisionsCommand.self, TrafficCommand.self, RollbackCommand.self,
            InstancesCommand.self,
            LogsCommand.self, ImagesCommand.self, PushCommand.self, RegistriesCommand.self, TokensCommand.self,
            SimulateCommand.self, VersionCommand.self,
        ]
    )

    public init() {}

    /// Parses the process arguments, runs the command and exits: errors become one line on
    /// stderr (`error: …`) and a non-zero status; help goes to stdout.
    public static func main() async {
        await main(Array(CommandLine.arguments.dropFirst()))
    }

    public static func main(_ arguments: [String]) async {
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch {
            let (text, code) = report(for: error)
            if code == 0 {
                Console.out(text.hasSuffix("\n") || text.isEmpty ? text : text + "\n")
            } else if !text.isEmpty {
                Console.error(text + "\n")
            }
            Foundation.exit(code)
        }
    }

    /// What to print for `error` and the exit status: help and `--version` text with 0,
    /// otherwise the single line `error: …`.
    static func report(for error: any Error) -> (text: String, status: Int32) {
        if let error = error as? CLIError {
            return ("error: " + oneLine(error.message), ExitCode.failure.rawValue)
        }
        let status = exitCode(for: error)
        if status == .success {
            return (message(for: error), 0)
        }
        let message = oneLine(message(for: error))
        return (message.isEmpty ? "" : "error: " + message, status.rawValue)
    }
}
