import NIOConcurrencyHelpers
import NIOCore
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

    public init(
        concurrency: Int = 0, queueDepth: Int = 0, responseStartTimeout: Duration? = nil,
        requestTimeout: Duration? = nil, idleTimeout: Duration? = nil
    ) {
        self.concurrency = concurrency
        self.queueDepth = queueDepth
        self.responseStartTimeout = responseStartTimeout
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
    }
}

/// A request the activator holds until one of the revision's instances can take it.
///
/// Created on the request's event loop; the instance is handed over on that loop.
final class QueuedRequest: Sendable {
    let eventLoop: any EventLoop
    /// The routing key the request came by (`NAME` or `TAG---NAME`).
    let key: String
    private let deliver: NIOLoopBound<(BackendSlot?) -> Bool>

    /// - Parameter deliver: called on `eventLoop` with an instance whose capacity was taken
    ///   for this request, or nil when the revision left the table or its key's traffic
    ///   (route the request again). Returns false when nothing waits for it any more.
    init(eventLoop: any EventLoop, key: String, deliver: @escaping (BackendSlot?) -> Bool) {
        self.eventLoop = eventLoop
        self.key = key
        self.deliver = NIOLoopBound(deliver, eventLoop: eventLoop)
    }

    /// Hands over `slot`, whose capacity was already taken for this request.
    ///
    /// The hand-over crosses event loops, so the request may end (its client gone, its
    /// connection's handler freed) before the slot arrives; the capacity then goes back here.
    /// Kept by nobody, it would count as a request in flight for good: the autoscaler would
    /// never scale the revision to zero, and at a concurrency limit of 1 the instance would
    /// take no request again.
    func hand(_ slot: BackendSlot?) {
        self.eventLoop.execute {
            if !self.deliver.value(slot) { slot?.release() }
        }
    }
}

/// One revision in the data plane: its ready instances, its settings and the activator's
/// queue of requests waiting for capacity.
///
/// Lives across routing-table snapshots (the queue must), so its instance list is guarded by
/// a lock; the request path reads instances from the immutable ``ServiceRoute`` snapshot and
/// only takes this lock to queue, or to hand capacity to queued requests.
final class RevisionRoute: Sendable {
    private struct State {
        var slots: [BackendSlot] = []
        var queue = CircularBuffer<QueuedRequest>()
        var removed = false
    }

    let name: String
    let settings: RevisionSettings
    /// Shared by every route object the revision has had, so counts survive settings changes.
    let counters: ResponseCounters
    private let state = NIOLockedValueBox(State())
    private let waiting = Atomic<Int>(0)
    private let onDemand: (@Sendable (String) -> Void)?

    init(
        name: String, settings: RevisionSettings, counters: ResponseCounters = ResponseCounters(),
        onDemand: (@Sendable (String) -> Void)?
    ) {
        self.name = name
        self.settings = settings
        self.counters = counters
        self.onDemand = onDemand
    }

    /// Requests waiting in the queue.
    var queued: Int { self.waiting.load(ordering: .relaxed) }

    @inline(__always)
    var hasWaiters: Bool { self.waiting.load(ordering: .sequentiallyConsistent) > 0 }

    enum QueueOutcome {
        case queued(QueuedRequest)
        case full
        case disabled
    }

    /// Holds a request until an instance can take it, and tells the autoscaler at once.
    func enqueue(eventLoop: any EventLoop, key: String, deliver: @escaping (BackendSlot?) -> Bool) -> QueueOutcome {
        guard self.settings.queueDepth > 0 else { return .disabled }
        let request = QueuedRequest(eventLoop: eventLoop, key: key, deliver: deliver)
        let accepted = self.state.withLockedValue { state -> Bool in
            guard !state.removed, state.queue.count < self.settings.queueDepth else { return false }
            state.queue.append(request)
            self.waiting.wrappingAdd(1, ordering: .sequentiallyConsistent)
            return true
        }
        guard accepted else { return .full }
        self.onDemand?(self.name)
        // Capacity freed between the caller's pick and the append would otherwise be missed.
        self.dispatchWaiters()
        return .queued(request)
    }

    /// Takes `request` out of the queue; false if it was already handed an instance (which
    /// then arrives on its loop, where its `deliver` must refuse it).
    func cancel(_ request: QueuedRequest) -> Bool {
        self.state.withLockedValue { state in
            guard let index = state.queue.firstIndex(where: { $0 === request }) else { return false }
            state.queue.remove(at: index)
            self.waiting.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            return true
        }
    }

    /// Hands free capacity to queued requests, oldest first.
    func dispatchWaiters() {
        let handed = self.state.withLockedValue { state -> [(QueuedRequest, BackendSlot)] in
            var handed: [(QueuedRequest, BackendSlot)] = []
            while !state.queue.isEmpty, let slot = BackendSlot.acquireLeastLoaded(state.slots, limit: self.settings.concurrency, seed: 0) {
                handed.append((state.queue.removeFirst(), slot))
                self.waiting.wrappingSubtract(1, ordering: .sequentiallyConsistent)
            }
            return handed
        }
        for (request, slot) in handed { request.hand(slot) }
    }

    /// Replaces the instances and serves the queue from the new ones.
    func setSlots(_ slots: [BackendSlot]) {
        self.state.withLockedValue { $0.slots = slots }
        self.dispatchWaiters()
    }

    /// The revision left the table: nothing new is queued, and queued requests are sent back
    /// to be routed again (to whatever now serves their host, or a 503).
    func markRemoved() {
        let orphans = self.state.withLockedValue { state -> [QueuedRequest] in
            state.removed = true
            state.slots = []
            let orphans = Array(state.queue)
            state.queue.removeAll()
            self.waiting.store(0, ordering: .sequentiallyConsistent)
            return orphans
        }
        for request in orphans { request.hand(nil) }
    }

    /// `keys` no longer send requests here (a traffic change): requests queued by them are
    /// routed again by their host's new split, rather than waiting for this revision.
    func rerouteWaiters(of keys: Set<String>) {
        let orphans = self.state.withLockedValue { state -> [QueuedRequest] in
            var orphans: [QueuedRequest] = []
            var kept = CircularBuffer<QueuedRequest>()
            for request in state.queue {
                if keys.contains(request.key) { orphans.append(request) } else { kept.append(request) }
            }
            guard !orphans.isEmpty else { return [] }
            state.queue = kept
            self.waiting.wrappingSubtract(orphans.count, ordering: .sequentiallyConsistent)
            return orphans
        }
        for request in orphans { request.hand(nil) }
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
