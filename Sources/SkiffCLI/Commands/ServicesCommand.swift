import ArgumentParser

/// `skiff services`: the group of commands that read and delete services.
struct ServicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "List, describe, update and delete services.",
        discussion: """
            Services are created with skiff deploy; update changes settings without naming the image.

              skiff services list
              skiff services describe web --output yaml
              skiff services update web --max-instances 5
              skiff services delete web
            """,
        subcommands: [
            ServicesListCommand.self, ServicesDescribeCommand.self, ServicesUpdateCommand.self,
            ServicesDeleteCommand.self,
        ]
    )
}
