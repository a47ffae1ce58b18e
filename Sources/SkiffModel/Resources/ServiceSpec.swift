/// What a user asks for when deploying a service: the template every revision is made from.
///
/// This is the body of `PUT /v1/services/NAME` and the `spec` of a service in the API.
public struct ServiceSpec: Codable, Sendable, Hashable {
    /// Image reference as the user wrote it: `hello:v1`, `team/app@sha256:…`.
    public var image: String
    /// The port the container listens on; passed to it as `$PORT`.
    public var port: Int
    /// What the port speaks, and so what the gateway speaks to the instances: Knative's
    /// `ports[0].name`, `http1` (the default) or `h2c`.
    public var portProtocol: PortProtocol
    /// Environment variables, in order; later names win.
    public var env: [EnvVar]
    /// Replaces the image's entrypoint when set.
    public var command: [String]?
    /// Replaces the image's cmd when set.
    public var args: [String]?
    /// Memory limit per instance.
    public var memory: MemoryQuantity?
    /// CPU limit per instance.
    public var cpu: CPUQuantity?
    /// How the instance count follows traffic.
    public var scaling: ScalingSpec
    /// How long a request may take.
    public var timeouts: RequestTimeouts
    /// Startup, readiness and liveness checks.
    public var probes: Probes

    /// Instances kept running at all times.
    public var minInstances: Int {
        get { scaling.minInstances }
        set { scaling.minInstances = newValue }
    }

    /// Cloud Run's and Knative's default container port.
    public static let defaultPort = 8080
    /// A bound that protects the machine from a typo (`--min-instances 1000`).
    public static let maxInstancesLimit = 1000

    public init(
        image: String, port: Int = ServiceSpec.defaultPort, portProtocol: PortProtocol = .http1, env: [EnvVar] = [],
        command: [String]? = nil, args: [String]? = nil, memory: MemoryQuantity? = nil, cpu: CPUQuantity? = nil,
        minInstances: Int = ScalingSpec.defaultMinInstances, scaling: ScalingSpec = ScalingSpec(),
        timeouts: RequestTimeouts = RequestTimeouts(), probes: Probes = Probes()
    ) {
        self.image = image
        self.port = port
        self.portProtocol = portProtocol
        self.env = env
        self.command = command
        self.args = args
        self.memory = memory
        self.cpu = cpu
        self.scaling = scaling
        self.timeouts = timeouts
        self.probes = probes
        self.scaling.minInstances = minInstances
    }

    enum CodingKeys: String, CodingKey {
        case image, port, portProtocol, env, command, args, memory, cpu, scaling, timeouts, probes
        /// Written by servers before autoscaling; read so their databases still load.
        case minInstances
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(image, forKey: .image)
        try container.encode(port, forKey: .port)
        // Left out when it is the default, so specs stored before it existed compare equal.
        if portProtocol != .http1 { try container.encode(portProtocol, forKey: .portProtocol) }
        try container.encode(env, forKey: .env)
        try container.encodeIfPresent(command, forKey: .command)
        try container.encodeIfPresent(args, forKey: .args)
        try container.encodeIfPresent(memory, forKey: .memory)
        try container.encodeIfPresent(cpu, forKey: .cpu)
        try container.encode(scaling, forKey: .scaling)
        try container.encode(timeouts, forKey: .timeouts)
        // Left out when unset, so specs stored before probes existed compare equal.
        if !probes.isEmpty { try container.encode(probes, forKey: .probes) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.image = try container.decode(String.self, forKey: .image)
        self.port = try container.decodeIfPresent(Int.self, forKey: .port) ?? Self.defaultPort
        self.portProtocol = try container.decodeIfPresent(PortProtocol.self, forKey: .portProtocol) ?? .http1
        self.env = try container.decodeIfPresent([EnvVar].self, forKey: .env) ?? []
        self.command = try container.decodeIfPresent([String].self, forKey: .command)
        self.args = try container.decodeIfPresent([String].self, forKey: .args)
        self.memory = try container.decodeIfPresent(MemoryQuantity.self, forKey: .memory)
        self.cpu = try container.decodeIfPresent(CPUQuantity.self, forKey: .cpu)
        self.scaling = try container.decodeIfPresent(ScalingSpec.self, forKey: .scaling) ?? ScalingSpec()
        self.timeouts = try container.decodeIfPresent(RequestTimeouts.self, forKey: .timeouts) ?? RequestTimeouts()
        self.probes = try container.decodeIfPresent(Probes.self, forKey: .probes) ?? Probes()
        if let legacy = try container.decodeIfPresent(Int.self, forKey: .minInstances),
            !container.contains(.scaling)
        {
            self.scaling.minInstances = legacy
            self.scaling.initialInstances = max(1, legacy)
        }
    }

    /// Checks the rules a decoder cannot: ranges and cross-field constraints.
    public func validate() throws(ModelError) {
        guard !image.isEmpty, !image.contains(where: { $0.isWhitespace }) else {
            throw ModelError(.invalidValue, field: "image", "image must be a reference without spaces, e.g. hello:v1")
        }
        guard (1...65535).contains(port) else {
            throw ModelError(.invalidValue, field: "port", "invalid port \(port): must be between 1 and 65535")
        }
        try scaling.validate()
        try timeouts.validate()
        try probes.validate()
        var seen = Set<String>()
        for variable in env {
            try variable.validate()
            guard seen.insert(variable.name).inserted else {
                throw ModelError(.invalidValue, field: "env", "env \(variable.name) is given twice")
            }
        }
        if let command, command.isEmpty {
            throw ModelError(.invalidValue, field: "command", "command must not be empty when given")
        }
    }
}
