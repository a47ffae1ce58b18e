public import SkiffErrors
import Yams

/// A Knative Service manifest read for `skiff apply`: the service to deploy, and what was
/// accepted without effect.
public struct KnativeManifest: Sendable, Hashable {
    public var name: ServiceName
    public var spec: ServiceSpec
    /// The revision's name (`spec.template.metadata.name`) and the traffic (`spec.traffic`,
    /// or all to the latest revision when it is absent, as in Knative).
    public var options: DeployOptions
    /// Fields accepted that change nothing in Skiff (labels, `resources.requests`…), one
    /// `path: why` line each, for the caller to show.
    public var warnings: [String]

    public init(name: ServiceName, spec: ServiceSpec, options: DeployOptions, warnings: [String] = []) {
        self.name = name
        self.spec = spec
        self.options = options
        self.warnings = warnings
    }

    /// Reads one `serving.knative.dev/v1` Service from YAML text.
    ///
    /// Every key of the document is checked against the fields Skiff knows: an unknown
    /// field, a field Skiff does not support and a bad value are each a problem naming its
    /// path, and all of them are reported together.
    public static func parse(_ yaml: String) throws(KnativeManifestError) -> KnativeManifest {
        let report = ManifestReport()
        let root: Node
        do {
            var documents = try Yams.compose_all(yaml: yaml)
            var nodes: [Node] = []
            // An empty document (a trailing `---`) is no document.
            while let node = documents.next() {
                if !node.hasTag(.null) { nodes.append(node) }
            }
            if let error = documents.error { throw error }
            guard nodes.count == 1, let node = nodes.first else {
                throw KnativeManifestError(problems: [
                    ModelError(.invalidValue, "expected one YAML document with a Knative Service, found \(nodes.count)")
                ])
            }
            root = node
        } catch let error as KnativeManifestError {
            throw error
        } catch {
            throw KnativeManifestError(problems: [ModelError(.invalidValue, "invalid YAML: \(Self.describe(error))")])
        }
        guard let object = ManifestObject(root, path: "", report: report) else {
            throw KnativeManifestError(problems: report.problems)
        }
        let service = KnativeService(reading: object)
        guard let deployment = service.deployment(report) else {
            throw KnativeManifestError(problems: report.problems)
        }
        return KnativeManifest(
            name: deployment.name, spec: deployment.spec, options: deployment.options, warnings: report.warnings)
    }

    /// A YAML error on one line: where, and what.
    private static func describe(_ error: any Error) -> String {
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        case .duplicatedKeysInMapping(let duplicates, _):
            return "a key is given twice: \(duplicates.joined(separator: ", "))"
        default:
            return String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
        }
    }
}

/// Why a manifest was refused: every problem found, each a ``ModelError`` whose `field` is
/// the path (`spec.template.spec.containers[0].volumeMounts`) and whose message starts with it.
public struct KnativeManifestError: SkiffError, Equatable {
    public var problems: [ModelError]

    public init(problems: [ModelError]) {
        self.problems = problems
    }

    /// Always ``ModelError/Code/invalidManifest``; each problem has its own code.
    public var code: ModelError.Code { .invalidManifest }
    /// One problem per line.
    public var message: String { problems.map(\.message).joined(separator: "\n") }
    /// Always nil: the problems are the manifest's own.
    public var cause: (any Error)? { nil }
}

extension KnativeService {
    /// The manifest as YAML with its keys sorted, as `kubectl get -o yaml` writes them, so
    /// that the same service always exports the same text.
    public func yaml() throws(ModelError) -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        do {
            return try encoder.encode(self)
        } catch {
            throw ModelError(.invalidValue, "cannot write the manifest as YAML: \(error)")
        }
    }
}
