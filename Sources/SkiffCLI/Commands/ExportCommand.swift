import ArgumentParser
import SkiffModel

/// `skiff export`: a service as a manifest another platform (or `skiff apply`) reads.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print a service as a Knative Service manifest.",
        discussion: """
            Writes the service's template and traffic as a serving.knative.dev/v1 Service in \
            YAML: what skiff apply -f reads, and what kubectl apply -f gives a Knative cluster. \
            spec.template.metadata.name is the latest revision, so applying the output back \
            makes no new revision. Settings at their defaults are left out; the ones Knative \
            has no field for are skiff.dev annotations. --output json writes the same \
            document as JSON.

              skiff export web > web.yaml
              skiff export web | skiff apply -f -       # unchanged
              skiff export web --format knative --output json
            """
    )

    /// The manifest formats; Kubernetes Deployments would be the next.
    enum Format: String, CaseIterable, ExpressibleByArgument {
        case knative
    }

    @Argument(help: "The service name.")
    var name: String

    @Option(help: "The manifest format: knative.")
    var format: Format = .knative

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try ServiceName.validateArgument(name)
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        let service = try await global.withClient { try await $0.service(name) }
        let manifest = KnativeService(exporting: service)
        switch global.output {
        case .json:
            Console.out(try OutputFormat.json(manifest))
        case .table, .yaml:
            do {
                Console.out(try manifest.yaml())
            } catch {
                throw CLIError(.badResponse, error.message, cause: error)
            }
        }
    }
}
