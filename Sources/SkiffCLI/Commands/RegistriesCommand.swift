import ArgumentParser

/// `skiff registries`: credentials the server uses to pull through from other registries.
struct RegistriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registries",
        abstract: "Manage the credentials the server pulls from other registries with.",
        discussion: """
            `skiff deploy --image HOST/NAME:TAG` pulls an image from another registry into the \
            server's store. Public images need nothing; private ones need credentials. The \
            password is read from stdin and is never shown again.

              echo "$PASSWORD" | skiff registries login registry.example.com --username ci
              skiff registries logout registry.example.com
            """,
        subcommands: [RegistriesLoginCommand.self, RegistriesLogoutCommand.self]
    )
}

struct RegistriesLoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Save credentials for a registry (password from stdin).")

    @Argument(help: ArgumentHelp("HOST or HOST:PORT.", valueName: "registry"))
    var registry: String

    @Option(help: "The user name.")
    var username: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        var password = ""
        while let line = readLine(strippingNewline: true) { password += line }
        guard !password.isEmpty else {
            throw CLIError(
                .invalidInput,
                "no password on stdin: echo \"$PASSWORD\" | skiff registries login \(registry) --username \(username)")
        }
        let (registry, username) = (self.registry, self.username)
        try await global.withClient {
            try await $0.saveRegistryCredential(host: registry, username: username, password: password)
        }
        Console.out("Saved credentials for \(registry)\n")
    }
}

struct RegistriesLogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logout", abstract: "Forget a registry's credentials.")

    @Argument(help: ArgumentHelp("HOST or HOST:PORT.", valueName: "registry"))
    var registry: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let registry = self.registry
        try await global.withClient { try await $0.deleteRegistryCredential(host: registry) }
        Console.out("Removed credentials for \(registry)\n")
    }
}
