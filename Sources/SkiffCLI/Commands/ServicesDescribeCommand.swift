import ArgumentParser
import SkiffModel

/// `skiff services describe`.
struct ServicesDescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a service's settings, revision, image digest, URL and instances.",
        discussion: """
            --output json and yaml print the service object of the API (without instances; \
            see skiff instances).

              skiff services describe web
              skiff services describe web --output json
            """
    )

    @Argument(help: "The service name.")
    var name: String

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try ServiceName.validateArgument(name)
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        let output = global.output
        let text = try await global.withClient { client in
            let service = try await client.service(name)
            if let text = try output.encode(service) { return text }
            let instances = try await client.instances(of: name)
            let events = try await client.events(of: name)
            return Tables.describe(service, instances: instances) + Tables.events(events)
        }
        Console.out(text)
    }
}
