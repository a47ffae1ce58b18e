import ArgumentParser

/// `skiff services`: the group of commands that read and delete services.
struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List, describe and delete services.",
        discussion: """
            Services are created and updated with skiff deploy.

              skiff services list
              skiff services describe web --output yaml
              skiff services delete web
            """,
        subcommands: [ServicesListCommand.self, ServicesDescribeCommand.self, ServicesDeleteCommand.self]
    )
}
