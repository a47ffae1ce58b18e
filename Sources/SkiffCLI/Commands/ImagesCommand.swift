import ArgumentParser

/// `skiff images`: the group of image commands.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Load images into the server and list them.",
        discussion: """
            Images are OCI image layouts (a directory, or a tar of one as `skopeo copy \
            docker://busybox oci-archive:busybox.tar` writes) loaded under a NAME:TAG.

              skiff images load ./hello-layout:v1 --tag hello:v1
              skiff images list
            """,
        subcommands: [ImagesLoadCommand.self, ImagesListCommand.self]
    )
}
