import ArgumentParser
import SkiffModel

/// `skiff services delete`.
struct ServicesDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a service: drain and stop its instances and remove its route.",
        discussion: """
            Returns once every instance was stopped and removed; the loaded image stays.

              skiff services delete web
            """,
        aliases: ["rm"]
    )

    @Argument(help: "The service name.")
    var name: String

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try ServiceName.validateArgument(name)
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        try await global.withClient { try await $0.deleteService(name) }
        if let text = try global.output.encode(["deleted": name.rawValue]) {
            Console.out(text)
        } else {
            Console.out("Deleted service \(name)\n")
        }
    }
}
