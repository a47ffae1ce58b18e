/// One finished request, as reported to the gateway's observer (metrics, access logs).
public struct GatewayRequestRecord: Sendable {
    /// The service the request was routed to, if routing got that far.
    public var service: String?
    /// The tag of a `TAG---NAME` route.
    public var tag: String?
    /// The revision that served it, if an instance was picked.
    public var revision: String?
    /// The backend that served it, if one was picked.
    public var backendID: String?
    /// The status sent to the client; 0 if the exchange was aborted before a response head.
    public var status: Int
    /// From the request head to the end of the response (or the abort).
    public var duration: Duration
    /// How long it waited in the activator's queue for an instance, if it had to.
    public var queued: Duration?
    /// Whether its instance was frozen and thawed for it.
    public var thawed: Bool
    /// How long the thaw took, when it had one.
    public var thawDuration: Duration?

    public init(
        service: String?, tag: String?, revision: String? = nil, backendID: String?, status: Int, duration: Duration,
        queued: Duration? = nil, thawed: Bool = false, thawDuration: Duration? = nil
    ) {
        self.service = service
        self.tag = tag
        self.revision = revision
        self.backendID = backendID
        self.status = status
        self.duration = duration
        self.queued = queued
        self.thawed = thawed
        self.thawDuration = thawDuration
    }
}

/// Called on the event loop once per finished request; keep it short and non-blocking.
public typealias GatewayObserver = @Sendable (GatewayRequestRecord) -> Void
