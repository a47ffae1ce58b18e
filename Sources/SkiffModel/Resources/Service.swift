public import Foundation

/// A deployed service as the API returns it: the spec, the revision serving it, and its URL.
public struct Service: Codable, Sendable, Hashable {
    public var name: ServiceName
    public var spec: ServiceSpec
    /// The newest revision: the template new instances are made from.
    public var latestRevision: String
    /// The image digest the latest revision runs.
    public var imageDigest: String
    /// Where the gateway serves it: `http://NAME.DOMAIN:PORT/`.
    public var url: String
    public var createdAt: Date
    public var updatedAt: Date
    /// Instances of the latest revision ready to take traffic (frozen ones included).
    public var readyInstances: Int
    /// The newest revision that became ready (reached its initial instances); the deploy
    /// waits until this is `latestRevision`.
    public var latestReadyRevision: String?
    /// Why the service is not ready, when it is not (e.g. the last instance failure).
    public var message: String?
    /// The traffic as asked for (Knative's `spec.traffic`).
    public var traffic: [TrafficTarget]
    /// Where requests go now, `latest` resolved, with each tag's URL (Knative's `status.traffic`).
    public var trafficStatus: [ResolvedTarget]
    /// Why the latest revision never became ready, when it did not.
    public var latestRevisionFailure: RevisionFailure?
    /// The gradual rollout of the latest deploy, in progress or how it ended.
    public var rollout: RolloutStatus?

    public init(
        name: ServiceName, spec: ServiceSpec, latestRevision: String, imageDigest: String, url: String,
        createdAt: Date, updatedAt: Date, readyInstances: Int = 0, latestReadyRevision: String? = nil,
        message: String? = nil, traffic: [TrafficTarget] = TrafficTarget.allToLatest,
        trafficStatus: [ResolvedTarget] = [],
        latestRevisionFailure: RevisionFailure? = nil, rollout: RolloutStatus? = nil
    ) {
        self.name = name
        self.spec = spec
        self.latestRevision = latestRevision
        self.imageDigest = imageDigest
        self.url = url
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.readyInstances = readyInstances
        self.latestReadyRevision = latestReadyRevision
        self.message = message
        self.traffic = traffic
        self.trafficStatus = trafficStatus
        self.latestRevisionFailure = latestRevisionFailure
        self.rollout = rollout
    }
}

/// An immutable snapshot of a service's template: the image digest it was resolved to and
/// the settings it runs with. Every change of the template makes a new one.
public struct Revision: Codable, Sendable, Hashable {
    /// `NAME-00001`, numbered per service.
    public var name: String
    public var service: ServiceName
    /// The template exactly as deployed.
    public var spec: ServiceSpec
    /// The manifest digest the image reference resolved to when the revision was made.
    public var imageDigest: String
    public var createdAt: Date
    /// When it first became ready; a revision that never did cannot be rolled back to.
    public var readyAt: Date?
    /// Set when it never became ready; it then runs nothing.
    public var failure: RevisionFailure?

    public init(
        name: String, service: ServiceName, spec: ServiceSpec, imageDigest: String, createdAt: Date,
        readyAt: Date? = nil,
        failure: RevisionFailure? = nil
    ) {
        self.name = name
        self.service = service
        self.spec = spec
        self.imageDigest = imageDigest
        self.createdAt = createdAt
        self.readyAt = readyAt
        self.failure = failure
    }

    /// Knative's revision naming: the service name and a five-digit generation.
    public static func name(service: ServiceName, generation: Int) -> String {
        let digits = String(generation)
        return "\(service.rawValue)-\(String(repeating: "0", count: max(0, 5 - digits.count)))\(digits)"
    }
}
