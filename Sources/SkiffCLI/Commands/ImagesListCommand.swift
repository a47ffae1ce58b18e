import ArgumentParser

/// `skiff images list`.
struct ImagesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the images the server holds.",
        discussion: """
            SIZE is the manifest, config and layers together (compressed).

              skiff images list
              skiff images list --repository team/app --output yaml
            """,
        aliases: ["ls"]
    )

    @Option(help: ArgumentHelp("Only the tags of this repository.", valueName: "name"))
    var repository: String?

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let repository = self.repository
        let images = try await global.withClient { try await $0.images(repository: repository) }
        Console.out(try global.output.encode(images) ?? Tables.images(images))
    }
}
