import Synchronization

/// How the gateway treats one revision's requests.
public struct RevisionSettings: Sendable, Hashable {
    /// Hard limit of in-flight requests per instance; 0 is unlimited.
    public var concurrency: Int
    /// Requests held while no instance can take them (zero instances, or all at the limit).
    /// 0 disables the queue: such requests get 503 at once.
    public var queueDepth: Int
    /// From the request head to the response head, queueing included; nil is none.
    public var responseStartTimeout: Duration?
    /// The whole exchange; nil is none.
    public var requestTimeout: Duration?
    /// Longest gap between bytes once forwarded; nil is none.
    public var idleTimeout: Duration?
    /// What the gateway speaks to the revision's instances.
    public var upstreamProtocol: UpstreamProtocol

    public init(
        concurrency: Int = 0, queueDepth: Int = 0, responseStartTimeout: Duration? = nil,
        requestTimeout: Duration? = nil, idleTimeout: Duration? = nil, upstreamProtocol: UpstreamProtocol = .http1
    ) {
        self.concurrency = concurrency
        self.queueDepth = queueDepth
        self.responseStartTimeout = responseStartTimeout
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.upstreamProtocol = upstreamProtocol
    }
}

/// The protocol an instance's port speaks, as Knative names it on `ports[].name`.
public enum UpstreamProtocol: String, Sendable, Hashable, CaseIterable {
    /// HTTP/1.1 with keep-alive (and upgrades, such as WebSockets).
    case http1
    /// HTTP/2 over cleartext with prior knowledge: many streams on one pooled connection,
    /// trailers included (gRPC).
    case h2c
}

/// One revision in the data plane: its settings, its answer counts and its ``Activator``.
///
/// Lives across routing-table snapshots (its activator's queue must); the request path reads
/// the revision's instances from the immutable ``ServiceRoute`` snapshot.
final class RevisionRoute: Sendable {
    let name: String
    let settings: RevisionSettings
    /// Shared by every route object the revision has had, so counts survive settings changes.
    let counters: ResponseCounters
    /// Where its requests take capacity, and wait while there is none.
    let activator: Activator

    init(
        name: String, settings: RevisionSettings, counters: ResponseCounters = ResponseCounters(),
        onDemand: (@Sendable (String) -> Void)?
    ) {
        self.name = name
        self.settings = settings
        self.counters = counters
        self.activator = Activator(revision: name, settings: settings, onDemand: onDemand)
    }
}

/// Answers a revision gave, counted for the controller's rollout checks: one relaxed atomic
/// increment per request, two for a 5xx.
final class ResponseCounters: Sendable {
    let responses = Atomic<Int>(0)
    let serverErrors = Atomic<Int>(0)

    init() {}

    @inline(__always)
    func record(status: Int) {
        guard status > 0 else { return }
        self.responses.wrappingAdd(1, ordering: .relaxed)
        if status >= 500 { self.serverErrors.wrappingAdd(1, ordering: .relaxed) }
    }
}
