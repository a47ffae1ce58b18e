import ArgumentParser

/// `skiff images`: the group of image commands.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Load, list, delete and garbage-collect the server's images.",
        discussion: """
            Images are OCI image layouts (a directory, or a tar of one as `skopeo copy \
            docker://busybox oci-archive:busybox.tar` writes) loaded under a NAME:TAG, or \
            images pushed to the registry on the API port (`skopeo copy`, `skiff push`).

              skiff images load ./hello-layout:v1 --tag hello:v1
              skiff images list
              skiff images delete team/app:v2
              skiff images gc --dry-run
            """,
        subcommands: [ImagesLoadCommand.self, ImagesListCommand.self, ImagesDeleteCommand.self, ImagesGCCommand.self]
    )
}
