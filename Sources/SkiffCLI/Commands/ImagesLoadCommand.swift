import ArgumentParser
import AsyncHTTPClient
import Foundation
import SkiffModel

/// `skiff images load`: sends an OCI image layout to the server, streaming it from disk.
struct ImagesLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load an OCI image layout directory or oci-archive into the server.",
        discussion: """
            SOURCE is a layout directory (with oci-layout, index.json and blobs/), optionally \
            followed by :REF to pick the manifest whose org.opencontainers.image.ref.name is \
            REF, or a .tar of such a layout. The image is stored as --tag, else as the ref name.

              skopeo copy docker://busybox:1.36 oci:./busybox:1.36
              skiff images load ./busybox:1.36 --tag busybox:1.36
              skiff images load busybox.tar --tag busybox:latest
            """
    )

    @Argument(help: ArgumentHelp("DIR, DIR:REF or FILE.tar.", valueName: "source"))
    var source: String

    @Option(help: ArgumentHelp("Store the image under this name.", valueName: "name:tag"))
    var tag: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let tag, tag.isEmpty || tag.contains(where: \.isWhitespace) || tag.contains("@") {
            throw ValidationError("invalid --tag \"\(tag)\": expected NAME:TAG, e.g. hello:v1")
        }
        do {
            _ = try ImageSource.parse(source)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let source = try ImageSource.parse(self.source)
        let progress = ProgressLine()
        defer { progress.clear() }
        func report(_ total: Int64) -> @Sendable (Int64) -> Void {
            { sent in progress.update("Uploading \(source.path): \(Humanize.size(sent)) of \(Humanize.size(total))") }
        }
        let body: HTTPClientRequest.Body
        switch source {
        case .layout(let directory, _):
            var archive = try await LayoutArchive.plan(directory: directory)
            archive.progress = report(archive.size)
            body = .stream(archive, length: .known(archive.size))
        case .archive(let file, _):
            let size = try Self.size(of: file)
            body = .stream(FileStream(path: file, size: size, progress: report(size)), length: .known(size))
        }
        let tag = self.tag
        let result = try await global.withClient { client in
            try await client.loadImage(archive: body, ref: source.ref, tag: tag)
        }
        progress.clear()
        if let text = try global.output.encode(result) {
            Console.out(text)
        } else {
            let image = result.image
            Console.out("Loaded \(image.name) (\(Humanize.shortDigest(image.digest)), \(Humanize.size(image.size)))\n")
        }
    }

    static func size(of file: String) throws(CLIError) -> Int64 {
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            return (attributes[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw CLIError(.io, "cannot read \(file): \(error.localizedDescription)", cause: error)
        }
    }
}
