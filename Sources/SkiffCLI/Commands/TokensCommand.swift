import ArgumentParser
import SkiffModel

/// `skiff tokens`: API and registry tokens beside the admin one.
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and delete tokens.",
        discussion: """
            admin tokens use the whole API; write tokens push and pull images, read tokens \
            pull; both only through the registry (/v2), and optionally only in some \
            repositories. A token is printed once, when it is created.

              skiff tokens create --role write --repository 'team/*'
              skiff tokens list
              skiff tokens delete write-1a2b3c4d
            """,
        subcommands: [TokensCreateCommand.self, TokensListCommand.self, TokensDeleteCommand.self]
    )
}

struct TokensCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a token and print it once.")

    @Option(help: "admin, write or read.")
    var role: String

    @Option(
        name: .customLong("repository"),
        help: ArgumentHelp("Limit to a repository (NAME or NAME/*); repeatable.", valueName: "pattern"))
    var repositories: [String] = []

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard TokenRole(rawValue: role) != nil else {
            throw ValidationError("invalid --role \"\(role)\": use admin, write or read")
        }
        for pattern in repositories where !TokenSummary.isValidPattern(pattern) {
            throw ValidationError(
                "invalid --repository \"\(pattern)\": a name like team/app, or team/* for all under team/")
        }
        if role == TokenRole.admin.rawValue, !repositories.isEmpty {
            throw ValidationError("admin tokens cannot be limited to repositories")
        }
    }

    func run() async throws {
        let (role, repositories) = (self.role, self.repositories.isEmpty ? nil : self.repositories)
        let created = try await global.withClient { try await $0.createToken(role: role, repositories: repositories) }
        if let text = try global.output.encode(created) {
            Console.out(text)
        } else {
            Console.out("\(created.token)\n")
            Console.error(
                "Created \(created.summary.role.rawValue) token \(created.summary.id); it is not shown again.\n")
        }
    }
}

struct TokensListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List tokens (never the tokens themselves).", aliases: ["ls"])

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let tokens = try await global.withClient { try await $0.tokens() }
        if let text = try global.output.encode(tokens) {
            Console.out(text)
        } else {
            var table = TableRenderer(["ID", "ROLE", "REPOSITORIES", "CREATED"])
            for token in tokens {
                table.append([
                    token.id, token.role.rawValue, token.repositories?.joined(separator: ",") ?? "*",
                    Humanize.age(of: token.createdAt),
                ])
            }
            Console.out(table.render())
        }
    }
}

struct TokensDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a token.", aliases: ["rm"])

    @Argument(help: "The token's ID (from tokens list).")
    var id: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let id = self.id
        try await global.withClient { try await $0.deleteToken(id) }
        Console.out("Deleted token \(id)\n")
    }
}
