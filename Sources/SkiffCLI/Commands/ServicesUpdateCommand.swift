import ArgumentParser
import SkiffModel

/// `skiff services update`: `deploy` for a service that must already exist, the way
/// `gcloud run services update` changes settings without naming the image again.
struct ServicesUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Change settings of an existing service (a new revision) and wait until it is ready.",
        discussion: """
            Takes the flags of skiff deploy; flags not given keep their deployed values.

              skiff services update web --max-instances 5 --concurrency 20
              skiff services update web --env MODE=fast --scale-to-zero-grace 5m
            """
    )

    @OptionGroup var deploy: DeployCommand

    func run() async throws {
        let name = try ServiceName.parse(deploy.name)
        let exists = try await deploy.global.withClient { client in try await client.serviceIfExists(name) != nil }
        guard exists else {
            throw CLIError(
                .invalidInput, "service \"\(name)\" not found; create it with skiff deploy \(name) --image IMAGE")
        }
        try await deploy.run()
    }
}
