import NIOCore

/// The activator's decisions for one revision, as a plain value: events in, hand-offs out.
///
/// It keeps the revision's ready instances as the activator sees them and the queue of
/// requests waiting for capacity, oldest first. Capacity itself is each instance's atomic
/// in-flight counter: a request takes it with ``BackendSlot/acquireLeastLoaded(_:limit:seed:)``
/// from its routing snapshot, without this value or its lock, and comes here only when there
/// was none. Every hand-off carries capacity already taken for its waiter, or none: then the
/// waiter's route moved and it must be routed again.
///
/// ```
/// enqueue ─▶ queued ─capacityFreed / setSlots─▶ hand-off (instance)
///   │          ├─leave (timed out, client gone)─▶ out, nothing handed
///   │          └─reroute (key moved) / remove ──▶ hand-off (nil: route again)
///   └─refused: no queue, queue full, revision removed
/// ```
///
/// ``Activator`` keeps it behind a lock and delivers the hand-offs on each waiter's event loop.
/// Generic over the waiter so tests drive it with plain values.
struct ActivatorStateMachine<Waiter> {
    /// A waiter and the capacity it gets.
    struct HandOff {
        var waiter: Waiter
        var ticket: ActivatorTicket
        /// An instance whose capacity was taken for the waiter; nil: route the request again.
        var slot: BackendSlot?
    }

    /// The hand-offs of one event, oldest waiter first. The first is kept inline, so an event
    /// that wakes a single request (a finished request's capacity going to the next) allocates
    /// nothing.
    struct HandOffs: Sequence {
        private var first: HandOff?
        private var rest: [HandOff] = []

        init() {}

        var isEmpty: Bool { self.first == nil }

        mutating func append(_ handOff: HandOff) {
            if self.first == nil {
                self.first = handOff
            } else {
                self.rest.append(handOff)
            }
        }

        func makeIterator() -> Iterator {
            Iterator(handOffs: self)
        }

        struct Iterator: IteratorProtocol {
            fileprivate let handOffs: HandOffs
            fileprivate var index = 0

            mutating func next() -> HandOff? {
                defer { self.index += 1 }
                if self.index == 0 { return self.handOffs.first }
                let restIndex = self.index - 1
                return restIndex < self.handOffs.rest.count ? self.handOffs.rest[restIndex] : nil
            }
        }
    }

    /// Why a request could not be queued.
    enum Refusal: Equatable {
        /// The revision has no queue (depth 0): answer 503 at once.
        case noQueue
        /// The queue holds `queueDepth` requests already: 429.
        case queueFull
        /// The revision left the routing table (a request that routed by an older snapshot).
        case removed
    }

    enum Enqueued {
        case queued(ActivatorTicket)
        case refused(Refusal)
    }

    fileprivate struct Entry {
        var ticket: ActivatorTicket
        /// The routing key the request came by (`NAME` or `TAG---NAME`).
        var key: String
        var waiter: Waiter
    }

    /// Hard limit of in-flight requests per instance; 0 is unlimited.
    let concurrency: Int
    /// Most requests held at once; 0 disables the queue.
    let queueDepth: Int
    private(set) var slots: [BackendSlot] = []
    private var queue = CircularBuffer<Entry>()
    private var isRemoved = false
    private var lastTicket: UInt64 = 0

    init(concurrency: Int, queueDepth: Int) {
        self.concurrency = concurrency
        self.queueDepth = queueDepth
    }

    /// Requests waiting.
    var waiting: Int { self.queue.count }

    // MARK: Events

    /// A request found no capacity: it waits at the back of the queue, unless the revision
    /// has no queue, the queue is full, or the revision is gone. The caller then looks for
    /// capacity freed since its own pick (``capacityFreed()``), after publishing the new
    /// queue length where finishing requests look.
    mutating func enqueue(_ waiter: Waiter, key: String) -> Enqueued {
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
    mutating func capacityFreed() -> HandOffs {
        var handOffs = HandOffs()
        while let entry = self.queue.first,
            let slot = BackendSlot.acquireLeastLoaded(self.slots, limit: self.concurrency, seed: 0)
        {
            self.queue.removeFirst()
            handOffs.append(HandOff(waiter: entry.waiter, ticket: entry.ticket, slot: slot))
        }
        return handOffs
    }

    /// The revision's ready instances changed: the new ones serve the queue at once.
    mutating func setSlots(_ slots: [BackendSlot]) -> HandOffs {
        self.slots = slots
        return self.capacityFreed()
    }

    /// The request holding `ticket` stopped waiting (it timed out, or its client left).
    /// Returns false when it was no longer queued: a hand-off is on its way to it, which the
    /// waiter must refuse so that its capacity comes back.
    mutating func leave(_ ticket: ActivatorTicket) -> Bool {
        guard let index = self.queue.firstIndex(where: { $0.ticket == ticket }) else { return false }
        self.queue.remove(at: index)
        return true
    }

    /// `keys` no longer send requests to this revision (a traffic change): the requests they
    /// queued go back to be routed by their key's new split; the others keep their places.
    mutating func reroute(keys: Set<String>) -> HandOffs {
        var handOffs = HandOffs()
        guard self.queue.contains(where: { keys.contains($0.key) }) else { return handOffs }
        var kept = CircularBuffer<Entry>(initialCapacity: self.queue.count)
        for entry in self.queue {
            if keys.contains(entry.key) {
                handOffs.append(HandOff(waiter: entry.waiter, ticket: entry.ticket, slot: nil))
            } else {
                kept.append(entry)
            }
        }
        self.queue = kept
        return handOffs
    }

    /// The revision left the routing table: nothing more is queued, and every waiting request
    /// goes back to be routed to whatever serves its key now (or gets an error there).
    mutating func remove() -> HandOffs {
        self.isRemoved = true
        self.slots = []
        var handOffs = HandOffs()
        while let entry = self.queue.popFirst() {
            handOffs.append(HandOff(waiter: entry.waiter, ticket: entry.ticket, slot: nil))
        }
        return handOffs
    }
}

extension ActivatorStateMachine: Sendable where Waiter: Sendable {}
extension ActivatorStateMachine.HandOff: Sendable where Waiter: Sendable {}
extension ActivatorStateMachine.HandOffs: Sendable where Waiter: Sendable {}
extension ActivatorStateMachine.Entry: Sendable where Waiter: Sendable {}

/// A place in an activator's queue: what a waiting request holds to leave the queue, and what
/// it checks a hand-off against (a hand-off meant for an earlier wait must be refused).
struct ActivatorTicket: Hashable, Sendable {
    /// Unique within one activator, increasing in queue order.
    let id: UInt64
}
