public import Foundation

/// Where an instance is in its life.
public enum InstanceState: String, Codable, Sendable, Hashable, CaseIterable {
    /// Created; waiting for its port to accept connections.
    case starting
    /// Taking traffic.
    case ready
    /// Paused by the cgroup freezer; memory kept.
    case frozen
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

    public init(
        id: String, service: ServiceName, revision: String, state: InstanceState, address: String? = nil,
        startedAt: Date? = nil, restarts: Int = 0, message: String? = nil
    ) {
        self.id = id
        self.service = service
        self.revision = revision
        self.state = state
        self.address = address
        self.startedAt = startedAt
        self.restarts = restarts
        self.message = message
    }
}
