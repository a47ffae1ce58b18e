import ArgumentParser
import SkiffModel

/// `skiff images gc`.
struct ImagesGCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Free the blobs no manifest, tag or revision refers to.",
        discussion: """
            Blobs written in the last hour are kept, so a push in progress is never broken.

              skiff images gc --dry-run
              skiff images gc
            """
    )

    @Flag(help: "List what would be freed without freeing it.")
    var dryRun = false

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let dryRun = self.dryRun
        let result = try await global.withClient { try await $0.collectGarbage(dryRun: dryRun) }
        if let text = try global.output.encode(result) {
            Console.out(text)
        } else {
            var text = ""
            for digest in result.removed { text += (dryRun ? "would free " : "freed ") + digest + "\n" }
            text +=
                "\(dryRun ? "Would free" : "Freed") \(result.removed.count) blobs, \(Humanize.size(result.freedBytes)); kept \(result.kept)\n"
            Console.out(text)
        }
    }
}
