public import Foundation

/// The latest outcome of one of an instance's probes, as `skiff instances` shows it. It
/// changes on every failure and on every change between passing and failing, not on each
/// success, so a healthy instance costs no writes.
public struct ProbeResult: Codable, Sendable, Hashable {
    public var kind: String
    public var passing: Bool
    /// Failures in a row when failing, successes in a row (at least) when passing.
    public var consecutive: Int
    /// Why the last check failed.
    public var message: String?
    public var since: Date

    public init(kind: Probe.Kind, passing: Bool, consecutive: Int, message: String? = nil, since: Date = Date()) {
        self.kind = kind.rawValue
        self.passing = passing
        self.consecutive = consecutive
        self.message = message
        self.since = since
    }
}

/// Why a revision never became ready; it then runs no instances, and traffic stays on the
/// revisions that serve.
public struct RevisionFailure: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Codable, Sendable, Hashable {
        /// The container could not be created from the image (entrypoint missing, bad config).
        case image
        /// The process exited before it became ready, again and again.
        case crash
        /// The startup or readiness probe never passed within its budget.
        case probe
    }

    public var reason: Reason
    public var message: String
    /// The last lines the instance printed, for a crash.
    public var logTail: [String]
    public var at: Date

    public init(reason: Reason, message: String, logTail: [String] = [], at: Date = Date()) {
        self.reason = reason
        self.message = message
        self.logTail = logTail
        self.at = at
    }

    public var description: String {
        var text = "\(reason.rawValue): \(message)"
        if !logTail.isEmpty { text += "\nlast log lines:\n" + logTail.map { "  " + $0 }.joined(separator: "\n") }
        return text
    }
}

/// Something that happened to a service: a probe failing, an instance restarting, a revision
/// becoming ready or failing, traffic moving. Repeats of the same event are counted, as
/// Kubernetes does, instead of listed again.
public struct ServiceEvent: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        case normal, warning
    }

    public var kind: Kind
    /// One word: `Ready`, `Unhealthy`, `Restarted`, `RevisionFailed`, `TrafficChanged`…
    public var reason: String
    public var message: String
    public var service: ServiceName
    public var revision: String?
    public var instance: String?
    public var count: Int
    public var firstAt: Date
    public var lastAt: Date

    public init(
        kind: Kind, reason: String, message: String, service: ServiceName, revision: String? = nil,
        instance: String? = nil, at: Date = Date()
    ) {
        self.kind = kind
        self.reason = reason
        self.message = message
        self.service = service
        self.revision = revision
        self.instance = instance
        self.count = 1
        self.firstAt = at
        self.lastAt = at
    }
}
