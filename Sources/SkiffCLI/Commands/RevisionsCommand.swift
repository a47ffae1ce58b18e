import ArgumentParser
import SkiffModel

/// `skiff revisions`: the immutable snapshots every deploy makes of a service.
struct RevisionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revisions",
        abstract: "List, describe and delete revisions.",
        discussion: """
            Every deploy that changes a service's settings makes a revision, NAME-00001, \
            NAME-00002…, which keeps its image digest and settings for good. The latest ready \
            one receives the traffic; older ones are kept for rollback.

              skiff revisions list --service web
              skiff revisions describe web-00002
              skiff revisions delete web-00001
            """,
        subcommands: [RevisionsListCommand.self, RevisionsDescribeCommand.self, RevisionsDeleteCommand.self]
    )
}

struct RevisionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List revisions with their traffic, readiness and instances.",
        aliases: ["ls"]
    )

    @Option(help: ArgumentHelp("Only this service's revisions.", valueName: "name"))
    var service: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let service {
            do { _ = try ServiceName(service) } catch { throw ValidationError(error.message) }
        }
    }

    func run() async throws {
        let service = try self.service.map(ServiceName.parse)
        let revisions = try await global.withClient { try await $0.revisions(of: service) }
        Console.out(try global.output.encode(revisions) ?? Tables.revisions(revisions))
    }
}

struct RevisionsDescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a revision's image, settings, traffic and instances."
    )

    @Argument(help: "The revision, e.g. web-00002.")
    var name: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let output = global.output
        let text = try await global.withClient { client in
            let revision = try await client.revision(name)
            if let text = try output.encode(revision) { return text }
            let events = try await client.events(of: revision.service, revision: revision.name)
            return Tables.describe(revision) + Tables.events(events)
        }
        Console.out(text)
    }
}

struct RevisionsDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a revision that receives no traffic and is not its service's latest.",
        aliases: ["rm"]
    )

    @Argument(help: "The revision, e.g. web-00001.")
    var name: String

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await global.withClient { try await $0.deleteRevision(name) }
        if let text = try global.output.encode(["deleted": name]) {
            Console.out(text)
        } else {
            Console.out("Deleted revision \(name)\n")
        }
    }
}
