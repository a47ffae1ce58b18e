import ArgumentParser
import SkiffModel
import SkiffOCI

/// `skiff images delete`.
struct ImagesDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an image tag, or a manifest with all its tags.",
        discussion: """
            NAME:TAG removes one tag; NAME@sha256:… removes that manifest from the repository \
            with every tag pointing at it. Blobs are freed by `skiff images gc`; revisions that \
            run the image keep it.

              skiff images delete team/app:v2
              skiff images delete team/app@sha256:4ed8…
            """,
        aliases: ["rm"]
    )

    @Argument(help: ArgumentHelp("NAME:TAG or NAME@DIGEST.", valueName: "image"))
    var image: String

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        let reference: Reference
        do {
            reference = try Reference(image)
        } catch {
            throw ValidationError(error.message)
        }
        guard reference.host == nil, reference.repository != nil, reference.tag != nil || reference.digest != nil else {
            throw ValidationError("invalid image \"\(image)\": expected NAME:TAG or NAME@sha256:…, e.g. team/app:v2")
        }
    }

    func run() async throws {
        let image = self.image
        try await global.withClient { try await $0.deleteImage(image) }
        if let text = try global.output.encode(["deleted": image]) {
            Console.out(text)
        } else {
            Console.out("Deleted \(image)\n")
        }
    }
}
