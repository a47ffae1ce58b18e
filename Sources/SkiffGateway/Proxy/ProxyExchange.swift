import NIOCore
import NIOHPACK
import NIOHTTP1
import SkiffBalancing
import SkiffHTTP1

/// One request/response exchange on a client connection, from its request head to the end of
/// its response: what it was routed to, the capacity it holds or waits for, its deadlines, and
/// what the observer is told about it.
///
/// A value inside ``ProxyHandler``: starting an exchange allocates nothing, and each request
/// head replaces the previous exchange whole, so nothing of one request leaks into the next.
/// ``ProxyStateMachine`` decides when the exchange is over; ``finish(at:)`` then settles it.
struct ProxyExchange {
    /// The client's HTTP version and method, which frame the response to it.
    let requestVersion: HTTP1Version
    let requestMethod: HTTP1Method
    /// When the request head arrived; read only when the observer wants it.
    private(set) var startedAt: NIODeadline?
    /// The routing key its `Host` header named.
    var hostRoute: HostRoute?
    /// The revision it was assigned to, which counts its answer.
    private(set) var revision: RevisionRoute?
    /// The instance whose capacity it holds: from the pick or the hand-off until it is settled.
    private(set) var slot: BackendSlot?
    /// The backend connection it runs on.
    var upstream: UpstreamHandler?
    /// Its place in the revision's activator queue, while it waits for an instance.
    private(set) var ticket: ActivatorTicket?
    private var queuedAt: NIODeadline = .distantPast
    private var waited: TimeAmount = .zero
    /// How long thawing its frozen instance took, if it had to.
    private var thawDuration: TimeAmount?
    var timeouts = ExchangeTimeouts()
    /// The status sent to the client; 0 until a response head.
    var responseStatus = 0
    /// A gRPC call: the gateway's own answers to it carry a grpc-status.
    var isGRPC = false
    /// The client connection closes after this exchange whatever its headers say.
    var closesConnection = false
    /// A gRPC status the instance put in its response head, sent with the trailers instead.
    var statusTrailers: HPACKHeaders?
    /// How the response body reaches an HTTP/1 client.
    var clientFraming = ProxyHeaders.ClientFraming.asIs

    init(version: HTTP1Version = .http1_1, method: HTTP1Method = .get, startedAt: NIODeadline? = nil) {
        self.requestVersion = version
        self.requestMethod = method
        self.startedAt = startedAt
    }

    /// Whether it waits in a queue: an instance comes from the activator, not from the pool.
    var isQueued: Bool { self.ticket != nil }

    // MARK: Capacity

    /// The request is assigned to `revision`, for its first routing or again.
    mutating func assign(to revision: RevisionRoute) {
        self.revision = revision
    }

    /// Holds `slot`, whose capacity was taken for this exchange; `thawDuration` if its
    /// instance had to be thawed first.
    mutating func hold(_ slot: BackendSlot, thawDuration: TimeAmount?) {
        self.slot = slot
        if let thawDuration { self.thawDuration = thawDuration }
    }

    mutating func queued(_ ticket: ActivatorTicket, at now: NIODeadline) {
        self.ticket = ticket
        self.queuedAt = now
    }

    /// Whether a hand-off from `activator` for `ticket` is the one this exchange waits for.
    func isWaiting(for ticket: ActivatorTicket, from activator: Activator) -> Bool {
        self.ticket == ticket && self.revision?.activator === activator
    }

    /// The activator handed it an instance, or sent it back to be routed again.
    mutating func handedOver(at now: NIODeadline) {
        self.ticket = nil
        self.waited = self.waited + (now - self.queuedAt)
    }

    /// Takes it out of its revision's queue, if it waits there (a timeout, the exchange ended).
    mutating func leaveQueue() {
        guard let ticket = self.ticket else { return }
        self.ticket = nil
        self.revision?.activator.leave(ticket)
    }

    // MARK: Settling

    /// Ends the exchange's accounting: leaves the queue, stops the deadlines, gives the
    /// instance's capacity back and counts the answer for the revision. Returns the record for
    /// the observer the first time, when the observer asked for one (a start time was read).
    mutating func finish(at now: @autoclosure () -> NIODeadline) -> GatewayRequestRecord? {
        self.leaveQueue()
        self.timeouts.stop()
        let slot = self.slot
        if let slot {
            slot.release()
            self.slot = nil
        }
        let revision = self.revision
        self.revision = nil
        revision?.counters.record(status: self.responseStatus)
        guard let startedAt = self.startedAt else { return nil }
        self.startedAt = nil
        return GatewayRequestRecord(
            service: self.hostRoute?.service,
            tag: self.hostRoute?.tag,
            revision: revision?.name,
            backendID: slot?.backend.id,
            status: self.responseStatus,
            duration: .nanoseconds((now() - startedAt).nanoseconds),
            queued: self.waited > .zero ? .nanoseconds(self.waited.nanoseconds) : nil,
            thawed: self.thawDuration != nil,
            thawDuration: self.thawDuration.map { .nanoseconds($0.nanoseconds) }
        )
    }
}
