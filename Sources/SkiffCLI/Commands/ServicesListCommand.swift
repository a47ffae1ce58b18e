import ArgumentParser

/// `skiff services list`.
struct ServicesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the services with their readiness, revision and URL.",
        discussion: """
            READY says whether the latest revision became ready; INSTANCES counts its ready and
            frozen instances (a service scaled to zero has none and still serves).

              skiff services list
              skiff services list --output json
            """,
        aliases: ["ls"]
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let services = try await global.withClient { try await $0.services() }
        Console.out(try global.output.encode(services) ?? Tables.services(services))
    }
}
