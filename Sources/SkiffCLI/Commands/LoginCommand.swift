import ArgumentParser
import Foundation

/// `skiff login`: checks a server URL and token and saves them for later commands.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Save a server URL and token for the other commands.",
        discussion: """
            Checks the token against the server first, then writes ~/.config/skiff/config.json \
            ($XDG_CONFIG_HOME and $SKIFF_CONFIG are honoured) readable only by you. The admin \
            token is in DATA_DIR/admin.token on the server's machine.

              skiff login --server http://10.0.0.5:7070 --token "$(sudo cat /var/lib/skiff/admin.token)"
            """
    )

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard global.token != nil || ProcessInfo.processInfo.environment["SKIFF_TOKEN"].map({ !$0.isEmpty }) == true
        else {
            throw ValidationError("missing --token: skiff login needs the token to save")
        }
    }

    func run() async throws {
        let (server, token) = try global.connection()
        guard let token else { throw CLIError(.invalidInput, "missing --token: skiff login needs the token to save") }
        let count = try await APIClient.with(server: server, token: token) { client in
            try await client.services().count
        }
        let path = ClientConfig.path()
        try ClientConfig(server: server, token: token).save(to: path)
        switch global.output {
        case .table:
            Console.out("Logged in to \(server) (\(count) service\(count == 1 ? "" : "s")); saved to \(path)\n")
        case .json, .yaml:
            if let text = try global.output.encode(["server": server, "config": path]) { Console.out(text) }
        }
    }
}
