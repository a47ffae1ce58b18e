import NIOConcurrencyHelpers
import NIOCore
import SkiffBalancing
import Synchronization

/// One revision's activator: requests take capacity on its instances through it, wait in its
/// queue while there is none, and are handed an instance as one frees or arrives, or sent back
/// to routing when their route moved.
///
/// The decisions are `ActivatorStateMachine`'s (in SkiffBalancing, shared with `skiff simulate`);
/// this is its thin shell for the data plane.
/// A request with capacity available never takes the lock: ``admit(from:seed:key:waiter:)``
/// picks on the request's routing snapshot with the instances' atomic counters, and only a
/// request that found none queues under the lock. The queue length is mirrored in an atomic so
/// a finishing request sees without the lock whether anyone waits for its capacity. Hand-offs
/// run on each waiter's own event loop, outside the lock, always asynchronously: a waiter has
/// recorded its ticket before any hand-off for it arrives.
final class Activator: Sendable {
    typealias StateMachine = ActivatorStateMachine<NIOLoopBound<any ActivatorWaiter>, BackendSlot>
    typealias Refusal = StateMachine.Refusal

    /// How a request got on with a revision.
    enum Admission {
        /// It holds capacity on this instance.
        case acquired(BackendSlot)
        /// It waits in the queue; an instance (or a request to route again) comes to its waiter.
        case queued(ActivatorTicket)
        /// It cannot wait here.
        case refused(Refusal)
    }

    /// The revision's name, as reported to `onDemand`.
    let revision: String
    private let concurrency: Int
    private let state: NIOLockedValueBox<StateMachine>
    private let waiting = Atomic<Int>(0)
    private let onDemand: (@Sendable (String) -> Void)?

    /// - Parameter onDemand: told the revision's name whenever a request starts waiting, so the
    ///   autoscaler can wake the revision at once; must not block.
    init(revision: String, settings: RevisionSettings, onDemand: (@Sendable (String) -> Void)?) {
        self.revision = revision
        self.concurrency = settings.concurrency
        self.state = NIOLockedValueBox(StateMachine(concurrency: settings.concurrency, queueDepth: settings.queueDepth))
        self.onDemand = onDemand
    }

    /// Requests waiting in the queue.
    var queued: Int { self.waiting.load(ordering: .relaxed) }

    /// Read by every finishing request, before it takes the lock to hand its capacity over.
    @inline(__always)
    var hasWaiters: Bool { self.waiting.load(ordering: .sequentiallyConsistent) > 0 }

    // MARK: Requests

    /// Takes capacity on the least-loaded of `slots` (the request's routing snapshot) or, if
    /// every one is at the limit or there is none, queues the request: the one way a request
    /// gets an instance, whether it is routed for the first time or again.
    ///
    /// - Parameters:
    ///   - key: the routing key the request came by; its waiters are routed again when the key
    ///     stops sending requests here.
    ///   - waiter: made only when the request has to wait.
    @inline(__always)
    func admit(
        from slots: [BackendSlot], seed: UInt64, key: String,
        waiter: @autoclosure () -> NIOLoopBound<any ActivatorWaiter>
    ) -> Admission {
        if let slot = Balancer.acquireLeastLoaded(slots, limit: self.concurrency, seed: seed) {
            return .acquired(slot)
        }
        return self.enqueue(waiter(), key: key)
    }

    private func enqueue(_ waiter: NIOLoopBound<any ActivatorWaiter>, key: String) -> Admission {
        let (enqueued, handOffs) = self.state.withLockedValue { machine in
            let enqueued = machine.enqueue(waiter, key: key)
            guard case .queued = enqueued else { return (enqueued, StateMachine.HandOffs()) }
            self.waiting.store(machine.waiting, ordering: .sequentiallyConsistent)
            // A request that finished between this request's pick and the store above saw no
            // waiter and handed nothing over; its capacity is found here instead.
            atomicMemoryFence(ordering: .sequentiallyConsistent)
            let handOffs = machine.capacityFreed()
            self.waiting.store(machine.waiting, ordering: .sequentiallyConsistent)
            return (enqueued, handOffs)
        }
        switch enqueued {
        case .refused(let refusal):
            return .refused(refusal)
        case .queued(let ticket):
            self.onDemand?(self.revision)
            self.deliver(handOffs)
            return .queued(ticket)
        }
    }

    /// The request holding `ticket` stops waiting (it timed out, its client left). False if an
    /// instance is already on its way to it: the waiter must refuse that hand-off.
    @discardableResult
    func leave(_ ticket: ActivatorTicket) -> Bool {
        self.state.withLockedValue { machine in
            let left = machine.leave(ticket)
            self.waiting.store(machine.waiting, ordering: .sequentiallyConsistent)
            return left
        }
    }

    /// A request on one of the revision's instances finished: its capacity goes to the oldest
    /// waiter. Called only when ``hasWaiters``.
    func capacityFreed() {
        self.deliver(self.update { $0.capacityFreed() })
    }

    // MARK: Routing-table changes

    /// The revision's ready instances changed; the queue is served from the new ones at once.
    func setSlots(_ slots: [BackendSlot]) {
        self.deliver(self.update { $0.setInstances(slots) })
    }

    /// `keys` stopped sending requests here: the requests they queued are routed again.
    func reroute(keys: Set<String>) {
        self.deliver(self.update { $0.reroute(keys: keys) })
    }

    /// The revision left the table: every waiting request is routed again, and none queues.
    func remove() {
        self.deliver(self.update { $0.remove() })
    }

    // MARK: Private

    private func update(_ event: (inout StateMachine) -> StateMachine.HandOffs) -> StateMachine.HandOffs {
        self.state.withLockedValue { machine in
            let handOffs = event(&machine)
            self.waiting.store(machine.waiting, ordering: .sequentiallyConsistent)
            return handOffs
        }
    }

    /// Gives each waiter its instance on its own loop. A waiter that no longer waits refuses,
    /// and the capacity taken for it goes back (to the next waiter, if any): kept by nobody, it
    /// would count as a request in flight for good, so the revision would never scale to zero,
    /// and at a concurrency limit of 1 its instance would take no request again.
    private func deliver(_ handOffs: StateMachine.HandOffs) {
        for handOff in handOffs {
            handOff.waiter.eventLoop.execute {
                if !handOff.waiter.value.activator(self, handedOver: handOff.instance, for: handOff.ticket) {
                    handOff.instance?.release()
                }
            }
        }
    }
}
