import ArgumentParser
import SkiffOCI

/// `skiff push`: an OCI layout's image into a Skiff registry (or any that takes a Skiff token).
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push an image from an OCI layout to a registry, with progress.",
        discussion: """
            SOURCE is a layout directory, with :REF to pick one of several images. DESTINATION \
            is HOST:PORT/NAME:TAG; Skiff's own registry is on the API port. Blobs the registry \
            already has are skipped. The token is sent as the Basic password.

              skiff push ./app-layout:v2 localhost:7070/team/app:v2
              skiff deploy app --image localhost:7070/team/app:v2
            """
    )

    @Argument(help: ArgumentHelp("DIR or DIR:REF.", valueName: "source"))
    var source: String

    @Argument(help: ArgumentHelp("HOST:PORT/NAME:TAG.", valueName: "destination"))
    var destination: String

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        do {
            guard case .layout = try ImageSource.parse(source) else {
                throw ValidationError("push takes an OCI layout directory; load a .tar with `skiff images load`")
            }
            let reference = try Reference(destination)
            guard reference.host != nil, reference.digest == nil else {
                throw ValidationError(
                    "invalid destination \"\(destination)\": expected HOST:PORT/NAME:TAG, e.g. localhost:7070/team/app:v2"
                )
            }
        } catch let error as CLIError {
            throw ValidationError(error.message)
        } catch let error as OCIError {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        guard case .layout(let directory, let ref) = try ImageSource.parse(source) else { return }
        let (_, token) = try global.connection()
        let push = RegistryPush(
            directory: directory, ref: ref, destination: try Reference(destination), token: token,
            progress: ProgressLine())
        let result = try await push.run()
        if let text = try global.output.encode(result) {
            Console.out(text)
        } else {
            Console.out(
                "Pushed \(result.reference) (\(Humanize.shortDigest(result.digest))): \(result.uploadedBlobs) blobs uploaded, \(Humanize.size(result.uploadedBytes)); \(result.existingBlobs) already there\n"
            )
        }
    }
}
