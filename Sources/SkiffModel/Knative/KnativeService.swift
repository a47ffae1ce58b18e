/// A Knative Serving Service (`apiVersion: serving.knative.dev/v1`, `kind: Service`) with
/// the fields Skiff maps to a service, named and shaped as in Knative's schema.
///
/// Every field is optional, as in Kubernetes' own types: which ones a manifest must have is
/// a rule of the mapping (``KnativeManifest/parse(_:)``), not of the shape. Read manifests
/// with ``KnativeManifest/parse(_:)``, which reports every field Skiff does not know or
/// support; write them with ``yaml()``.
public struct KnativeService: Encodable, Sendable, Hashable {
    /// The schema's group and version, `serving.knative.dev/v1`.
    public var apiVersion: String?
    /// The resource type, `Service`.
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec

    /// The `apiVersion` Skiff reads and writes.
    public static let servingV1 = "serving.knative.dev/v1"
    /// The `kind` Skiff reads and writes.
    public static let serviceKind = "Service"

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(), spec: Spec = Spec()
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
    }

    /// Kubernetes' object metadata: the Service's, or its revision template's.
    public struct ObjectMeta: Encodable, Sendable, Hashable {
        /// The Service's name; in a template, the name of the revision it makes (`NAME-SUFFIX`).
        public var name: String?
        /// In a template: settings of each revision, `autoscaling.knative.dev/*` and `skiff.dev/*`.
        public var annotations: [String: String]?

        public init(name: String? = nil, annotations: [String: String]? = nil) {
            self.name = name
            self.annotations = annotations
        }
    }

    /// The desired state: the template every revision is stamped from, and the traffic.
    public struct Spec: Encodable, Sendable, Hashable {
        public var template: RevisionTemplate
        /// How requests are split between revisions; absent means all to the latest ready one.
        public var traffic: [TrafficTarget]?

        public init(template: RevisionTemplate = RevisionTemplate(), traffic: [TrafficTarget]? = nil) {
            self.template = template
            self.traffic = traffic
        }
    }

    /// The template of the next revision.
    public struct RevisionTemplate: Encodable, Sendable, Hashable {
        public var metadata: ObjectMeta
        public var spec: RevisionSpec

        public init(metadata: ObjectMeta = ObjectMeta(), spec: RevisionSpec = RevisionSpec()) {
            self.metadata = metadata
            self.spec = spec
        }
    }

    /// What a revision runs and how its requests are limited.
    public struct RevisionSpec: Encodable, Sendable, Hashable {
        /// Hard limit of in-flight requests per instance; 0 is unlimited.
        public var containerConcurrency: Int?
        /// Longest a request may take, in seconds.
        public var timeoutSeconds: Int?
        /// Longest wait for the first byte of the response, in seconds.
        public var responseStartTimeoutSeconds: Int?
        /// Longest time without bytes in either direction, in seconds; 0 is no limit.
        public var idleTimeoutSeconds: Int?
        /// The containers of an instance; Skiff runs exactly one.
        public var containers: [Container]

        public init(
            containerConcurrency: Int? = nil, timeoutSeconds: Int? = nil, responseStartTimeoutSeconds: Int? = nil,
            idleTimeoutSeconds: Int? = nil, containers: [Container] = []
        ) {
            self.containerConcurrency = containerConcurrency
            self.timeoutSeconds = timeoutSeconds
            self.responseStartTimeoutSeconds = responseStartTimeoutSeconds
            self.idleTimeoutSeconds = idleTimeoutSeconds
            self.containers = containers
        }
    }

    /// A Kubernetes container, with the fields Skiff runs.
    public struct Container: Encodable, Sendable, Hashable {
        /// The image reference.
        public var image: String?
        /// The one port the container serves HTTP on.
        public var ports: [ContainerPort]?
        public var env: [EnvVar]?
        /// Replaces the image's entrypoint.
        public var command: [String]?
        /// Replaces the image's cmd.
        public var args: [String]?
        public var resources: Resources?
        public var startupProbe: Probe?
        public var readinessProbe: Probe?
        public var livenessProbe: Probe?

        public init(
            image: String? = nil, ports: [ContainerPort]? = nil, env: [EnvVar]? = nil, command: [String]? = nil,
            args: [String]? = nil, resources: Resources? = nil, startupProbe: Probe? = nil,
            readinessProbe: Probe? = nil, livenessProbe: Probe? = nil
        ) {
            self.image = image
            self.ports = ports
            self.env = env
            self.command = command
            self.args = args
            self.resources = resources
            self.startupProbe = startupProbe
            self.readinessProbe = readinessProbe
            self.livenessProbe = livenessProbe
        }
    }

    /// A port the container listens on.
    public struct ContainerPort: Encodable, Sendable, Hashable {
        public var containerPort: Int?
        /// The protocol the port speaks, `http1` (the default) or `h2c`: Knative reads the
        /// port's name for it.
        public var name: String?

        public init(containerPort: Int? = nil, name: String? = nil) {
            self.containerPort = containerPort
            self.name = name
        }
    }

    /// Compute resources; Skiff enforces limits only.
    public struct Resources: Encodable, Sendable, Hashable {
        public var limits: Limits?

        public init(limits: Limits? = nil) {
            self.limits = limits
        }
    }

    /// Limits as Kubernetes quantities: `cpu: 500m`, `memory: 128Mi`.
    public struct Limits: Encodable, Sendable, Hashable {
        public var cpu: String?
        public var memory: String?

        public init(cpu: String? = nil, memory: String? = nil) {
            self.cpu = cpu
            self.memory = memory
        }
    }
}
