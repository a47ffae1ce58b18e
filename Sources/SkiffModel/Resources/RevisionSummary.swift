public import Foundation

/// A revision as `GET /v1/revisions` shows it: what it runs, and what it serves now.
public struct RevisionSummary: Codable, Sendable, Hashable {
    /// `NAME-00001`.
    public var name: String
    public var service: ServiceName
    /// The image reference as deployed, and the digest it resolved to then.
    public var image: String
    public var imageDigest: String
    public var createdAt: Date
    /// Share of the service's requests routed to it, 0 to 100.
    public var trafficPercent: Int
    /// Tags that give it a URL of its own (`TAG---NAME`).
    public var tags: [String]
    /// It became ready (its initial instances accepted connections), so it can take traffic.
    public var ready: Bool
    /// Its instances now, ready, frozen or starting.
    public var instances: Int
    /// The settings it runs with, immutable.
    public var spec: ServiceSpec
    /// Why it never became ready, if it did not.
    public var failure: RevisionFailure?

    public init(
        name: String, service: ServiceName, image: String, imageDigest: String, createdAt: Date, trafficPercent: Int,
        tags: [String] = [], ready: Bool, instances: Int, spec: ServiceSpec, failure: RevisionFailure? = nil
    ) {
        self.name = name
        self.service = service
        self.image = image
        self.imageDigest = imageDigest
        self.createdAt = createdAt
        self.trafficPercent = trafficPercent
        self.tags = tags
        self.ready = ready
        self.instances = instances
        self.spec = spec
        self.failure = failure
    }
}
