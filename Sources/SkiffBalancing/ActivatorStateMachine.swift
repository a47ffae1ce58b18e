public import DequeModule

/// The activator's decisions for one revision, as a plain value: events in, hand-offs out.
///
/// It keeps the revision's ready instances as the activator sees them and the queue of
/// requests waiting for capacity, oldest first. Capacity itself is each instance's in-flight
/// count: a request takes it with ``Balancer/acquireLeastLoaded(_:limit:seed:)`` from its
/// routing snapshot (in the gateway without this value or its lock), and comes here only when
/// there was none. Every hand-off carries capacity already taken for its waiter, or none: then
/// the waiter's route moved and it must be routed again.
///
/// ```
/// enqueue ─▶ queued ─capacityFreed / setInstances─▶ hand-off (instance)
///   │          ├─leave (timed out, client gone)─▶ out, nothing handed
///   │          └─reroute (key moved) / remove ──▶ hand-off (nil: route again)
///   └─refused: no queue, queue full, revision removed
/// ```
///
/// The gateway's `Activator` keeps it behind a lock and delivers the hand-offs on each waiter's
/// event loop; `skiff simulate` drives it with trace requests as waiters. Generic over the
/// waiter and the instance, so tests drive it with plain values; inlinable, so the gateway's
/// copy is specialised for its own types.
public struct ActivatorStateMachine<Waiter, Instance: BalancedInstance> {
    /// A waiter and the capacity it gets.
    public struct HandOff {
        public var waiter: Waiter
        public var ticket: ActivatorTicket
        /// An instance whose capacity was taken for the waiter; nil: route the request again.
        public var instance: Instance?

        @inlinable
        init(waiter: Waiter, ticket: ActivatorTicket, instance: Instance?) {
            self.waiter = waiter
            self.ticket = ticket
            self.instance = instance
        }
    }

    /// The hand-offs of one event, oldest waiter first. The first is kept inline, so an event
    /// that wakes a single request (a finished request's capacity going to the next) allocates
    /// nothing.
    public struct HandOffs: Sequence {
        @usableFromInline var first: HandOff?
        @usableFromInline var rest: [HandOff] = []

        @inlinable
        public init() {}

        @inlinable
        public var isEmpty: Bool { self.first == nil }

        @inlinable
        mutating func append(_ handOff: HandOff) {
            if self.first == nil {
                self.first = handOff
            } else {
                self.rest.append(handOff)
            }
        }

        @inlinable
        public func makeIterator() -> Iterator {
            Iterator(handOffs: self)
        }

        public struct Iterator: IteratorProtocol {
            @usableFromInline let handOffs: HandOffs
            @usableFromInline var index = 0

            @inlinable
            init(handOffs: HandOffs) {
                self.handOffs = handOffs
            }

            @inlinable
            public mutating func next() -> HandOff? {
                defer { self.index += 1 }
                if self.index == 0 { return self.handOffs.first }
                let restIndex = self.index - 1
                return restIndex < self.handOffs.rest.count ? self.handOffs.rest[restIndex] : nil
            }
        }
    }

    /// Why a request could not be queued.
    public enum Refusal: Equatable, Sendable {
        /// The revision has no queue (depth 0): answer 503 at once.
        case noQueue
        /// The queue holds `queueDepth` requests already: 429.
        case queueFull
        /// The revision left the routing table (a request that routed by an older snapshot).
        case removed
    }

    public enum Enqueued {
        case queued(ActivatorTicket)
        case refused(Refusal)
    }

    @usableFromInline
    struct Entry {
        @usableFromInline var ticket: ActivatorTicket
        /// The routing key the request came by (`NAME` or `TAG---NAME`).
        @usableFromInline var key: String
        @usableFromInline var waiter: Waiter

        @inlinable
        init(ticket: ActivatorTicket, key: String, waiter: Waiter) {
            self.ticket = ticket
            self.key = key
            self.waiter = waiter
        }
    }

    /// Hard limit of in-flight requests per instance; 0 is unlimited.
    public let concurrency: Int
    /// Most requests held at once; 0 disables the queue.
    public let queueDepth: Int
    /// The instances the queue is served from, in routing order.
    @usableFromInline var ready: [Instance] = []
    @usableFromInline var queue = Deque<Entry>()
    @usableFromInline var isRemoved = false
    @usableFromInline var lastTicket: UInt64 = 0

    @inlinable
    public init(concurrency: Int, queueDepth: Int) {
        self.concurrency = concurrency
        self.queueDepth = queueDepth
    }

    /// The instances the queue is served from, in routing order.
    @inlinable
    public var instances: [Instance] { self.ready }

    /// Requests waiting.
    @inlinable
    public var waiting: Int { self.queue.count }

    /// The request waiting the longest, and its ticket.
    @inlinable
    public var oldest: (waiter: Waiter, ticket: ActivatorTicket)? {
        self.queue.first.map { ($0.waiter, $0.ticket) }
    }

    // MARK: Events

    /// A request found no capacity: it waits at the back of the queue, unless the revision
    /// has no queue, the queue is full, or the revision is gone. The caller then looks for
    /// capacity freed since its own pick (``capacityFreed()``), after publishing the new
    /// queue length where finishing requests look.
    @inlinable
    public mutating func enqueue(_ waiter: Waiter, key: String) -> Enqueued {
        guard self.queueDepth > 0 else { return .refused(.noQueue) }
        guard !self.isRemoved else { return .refused(.removed) }
        guard self.queue.count < self.queueDepth else { return .refused(.queueFull) }
        self.lastTicket &+= 1
        let ticket = ActivatorTicket(id: self.lastTicket)
        self.queue.append(Entry(ticket: ticket, key: key, waiter: waiter))
        return .queued(ticket)
    }

    /// Capacity may have freed (a request finished): hands it to the oldest waiters, as long
    /// as an instance under the limit remains.
    @inlinable
    public mutating func capacityFreed() -> HandOffs {
        var handOffs = HandOffs()
        while let entry = self.queue.first,
            let instance = Balancer.acquireLeastLoaded(self.ready, limit: self.concurrency, seed: 0)
        {
            self.queue.removeFirst()
            handOffs.append(HandOff(waiter: entry.waiter, ticket: entry.ticket, instance: instance))
        }
        return handOffs
    }

    /// The revision's ready instances changed: the new ones serve the queue at once.
    @inlinable
    public mutating func setInstances(_ instances: [Instance]) -> HandOffs {
        self.ready = instances
        return self.capacityFreed()
    }

    /// The request holding `ticket` stopped waiting (it timed out, or its client left).
    /// Returns false when it was no longer queued: a hand-off is on its way to it, which the
    /// waiter must refuse so that its capacity comes back.
    @inlinable
    public mutating func leave(_ ticket: ActivatorTicket) -> Bool {
        guard let index = self.queue.firstIndex(where: { $0.ticket == ticket }) else { return false }
        self.queue.remove(at: index)
        return true
    }

    /// `keys` no longer send requests to this revision (a traffic change): the requests they
    /// queued go back to be routed by their key's new split; the others keep their places.
    @inlinable
    public mutating func reroute(keys: Set<String>) -> HandOffs {
        var handOffs = HandOffs()
        guard self.queue.contains(where: { keys.contains($0.key) }) else { return handOffs }
        var kept = Deque<Entry>(minimumCapacity: self.queue.count)
        for entry in self.queue {
            if keys.contains(entry.key) {
                handOffs.append(HandOff(waiter: entry.waiter, ticket: entry.ticket, instance: nil))
            } else {
                kept.append(entry)
            }
        }
        self.queue = kept
        return handOffs
    }

    /// The revision left the routing table: nothing more is queued, and every waiting request
    /// goes back to be routed to whatever serves its key now (or gets an error there).
    @inlinable
    public mutating func remove() -> HandOffs {
        self.isRemoved = true
        self.ready = []
        var handOffs = HandOffs()
        while let entry = self.queue.popFirst() {
            handOffs.append(HandOff(waiter: entry.waiter, ticket: entry.ticket, instance: nil))
        }
        return handOffs
    }
}

extension ActivatorStateMachine: Sendable where Waiter: Sendable, Instance: Sendable {}
extension ActivatorStateMachine.HandOff: Sendable where Waiter: Sendable, Instance: Sendable {}
extension ActivatorStateMachine.HandOffs: Sendable where Waiter: Sendable, Instance: Sendable {}
extension ActivatorStateMachine.Entry: Sendable where Waiter: Sendable {}
extension ActivatorStateMachine.Enqueued: Sendable {}

/// A place in an activator's queue: what a waiting request holds to leave the queue, and what
/// it checks a hand-off against (a hand-off meant for an earlier wait must be refused).
public struct ActivatorTicket: Hashable, Sendable {
    /// Unique within one activator, increasing in queue order.
    public let id: UInt64

    @inlinable
    public init(id: UInt64) {
        self.id = id
    }
}
