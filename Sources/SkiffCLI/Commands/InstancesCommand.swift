import ArgumentParser
import SkiffModel

/// `skiff instances`.
struct InstancesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instances",
        abstract: "List the instances (containers) of a service, or of every service.",
        discussion: """
            STATE is starting, ready, frozen, stopping or failed; MESSAGE says why an instance \
            failed or restarted.

              skiff instances web
              skiff instances --output json
            """
    )

    @Argument(help: "The service name; every service's instances when omitted.")
    var name: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let name { try ServiceName.validateArgument(name) }
    }

    func run() async throws {
        let name = try self.name.map { (text) throws(CLIError) in try ServiceName.parse(text) }
        let instances = try await global.withClient { try await $0.instances(of: name) }
        Console.out(try global.output.encode(instances) ?? Tables.instances(instances, showService: name == nil))
    }
}
