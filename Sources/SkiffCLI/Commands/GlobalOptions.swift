import ArgumentParser
import Foundation

/// The options every command that talks to a server takes: where, with which token, and
/// how to print the answer.
///
/// The server and token come from the flag, then `$SKIFF_SERVER`/`$SKIFF_TOKEN`, then the
/// configuration file (`skiff login`), then the local default. A token from the
/// configuration file is only sent to the server it was saved for.
struct GlobalOptions: ParsableArguments {
    static let defaultServer = "http://127.0.0.1:7070"

    @Option(
        help: ArgumentHelp(
            "The Skiff API URL (default: $SKIFF_SERVER, the configuration, then \(GlobalOptions.defaultServer)).",
            valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("The API token (default: $SKIFF_TOKEN, then the configuration).", valueName: "token"))
    var token: String?

    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormat = .table

    func validate() throws {
        if let server { try Self.validateServerURL(server) }
        if let token, token.isEmpty || token.contains(where: { $0.isWhitespace }) {
            throw ValidationError("invalid --token: it must be non-empty and without spaces")
        }
    }

    static func validateServerURL(_ text: String) throws(ValidationError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty, url.query == nil
        else {
            throw ValidationError("invalid server URL \"\(text)\": expected e.g. \(defaultServer)")
        }
    }

    /// The server URL and token to use, by the precedence above.
    func connection(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configPath: String? = nil
    ) throws(CLIError) -> (server: String, token: String?) {
        let givenServer = server ?? environment["SKIFF_SERVER"].flatMap { $0.isEmpty ? nil : $0 }
        var token = self.token ?? environment["SKIFF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        // The file is read only when something is still missing.
        let config =
            givenServer == nil || token == nil
            ? try ClientConfig.load(from: configPath ?? ClientConfig.path(environment: environment)) : nil
        let server = APIClient.normalized(givenServer ?? config?.server ?? Self.defaultServer)
        do {
            try Self.validateServerURL(server)
        } catch {
            throw CLIError(.invalidInput, error.message)
        }
        if token == nil, let config, let saved = config.server, APIClient.normalized(saved) == server {
            token = config.token
        }
        return (server, token)
    }

    /// Runs `body` with a client for the chosen server.
    func withClient<Result>(_ body: (APIClient) async throws -> Result) async throws -> Result {
        let (server, token) = try connection()
        return try await APIClient.with(server: server, token: token, body)
    }
}
