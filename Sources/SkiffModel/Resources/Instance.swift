public import Foundation

/// Where an instance is in its life.
public enum InstanceState: String, Codable, Sendable, Hashable, CaseIterable {
    /// Created; waiting for its port to accept connections.
    case starting
    /// Taking traffic.
    case ready
    /// Paused by the cgroup freezer; memory kept.
    case frozen
    /// Running, but failing its readiness probe: out of the balancer until it passes.
    case unready
    /// Draining and being removed.
    case stopping
    /// Gave up on: see `message`.
    case failed

    /// Routed: ready, or frozen and thawed by its next request.
    public var isServing: Bool { self == .ready || self == .frozen }
}

/// One running copy of a revision: a container with its own network address.
public struct Instance: Codable, Sendable, Hashable {
    public var id: String
    public var service: ServiceName
    public var revision: String
    public var state: InstanceState
    /// `ip:port` on the bridge, once networking is set up.
    public var address: String?
    public var startedAt: Date?
    /// How many times the controller restarted its process.
    public var restarts: Int
    /// Why it is failed or restarting.
    public var message: String?
    /// The latest outcome of each probe it ran.
    public var probes: [ProbeResult]

    public init(
        id: String, service: ServiceName, revision: String, state: InstanceState, address: String? = nil,
        startedAt: Date? = nil, restarts: Int = 0, message: String? = nil, probes: [ProbeResult] = []
    ) {
        self.id = id
        self.service = service
        self.revision = revision
        self.state = state
        self.address = address
        self.startedAt = startedAt
        self.restarts = restarts
        self.message = message
        self.probes = probes
    }

    enum CodingKeys: String, CodingKey {
        case id, service, revision, state, address, startedAt, restarts, message, probes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.service = try container.decode(ServiceName.self, forKey: .service)
        self.revision = try container.decode(String.self, forKey: .revision)
        self.state = try container.decode(InstanceState.self, forKey: .state)
        self.address = try container.decodeIfPresent(String.self, forKey: .address)
        self.startedAt = try container.decodeIfPresent(Date.self, forKey: .startedAt)
        self.restarts = try container.decode(Int.self, forKey: .restarts)
        self.message = try container.decodeIfPresent(String.self, forKey: .message)
        self.probes = try container.decodeIfPresent([ProbeResult].self, forKey: .probes) ?? []
    }

    /// Replaces the result of `kind`'s probe.
    public mutating func record(_ result: ProbeResult) {
        probes.removeAll { $0.kind == result.kind }
        probes.append(result)
        probes.sort { $0.kind > $1.kind }
    }
}
