import ArgumentParser

/// `skiff images list`.
struct ImagesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the images the server holds.",
        discussion: """
            SIZE is the manifest, config and layers together (compressed).

              skiff images list
              skiff images list --output yaml
            """,
        aliases: ["ls"]
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let images = try await global.withClient { try await $0.images() }
        Console.out(try global.output.encode(images) ?? Tables.images(images))
    }
}
