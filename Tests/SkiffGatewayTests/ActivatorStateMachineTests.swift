import Synchronization
import Testing

@testable import SkiffGateway

/// The activator's decisions, event by event, on plain values: no loop, no socket, no clock.
@Suite("ActivatorStateMachine")
struct ActivatorStateMachineTests {
    typealias Machine = ActivatorStateMachine<String>

    let revision = RevisionRoute(name: "hello-00001", settings: RevisionSettings(), onDemand: nil)

    func slot(_ id: String) -> BackendSlot {
        BackendSlot(backend: Backend(id: id, host: "10.0.0.1", port: 1), revision: self.revision)
    }

    /// `waiter→backend` (or `waiter→route again`) for each hand-off, in order.
    func handed(_ handOffs: Machine.HandOffs) -> [String] {
        handOffs.map { "\($0.waiter)→\($0.slot?.backend.id ?? "route again")" }
    }

    /// Queues `waiter` and expects it to be accepted.
    @discardableResult
    func enqueue(_ machine: inout Machine, _ waiter: String, key: String = "hello") -> ActivatorTicket? {
        guard case .queued(let ticket) = machine.enqueue(waiter, key: key) else {
            Issue.record("\(waiter) was not queued")
            return nil
        }
        return ticket
    }

    // MARK: Picking capacity

    @Test func thePickTakesTheLeastLoadedInstanceAndReleaseGivesItBack() {
        let (a, b, c) = (self.slot("a"), self.slot("b"), self.slot("c"))
        a.acquire()
        c.acquire()
        for seed in 0..<UInt64(12) {
            let picked = BackendSlot.acquireLeastLoaded([a, b, c], limit: 0, seed: seed)
            #expect(picked === b)
            #expect(b.currentLoad == 1)
            picked?.release()
            #expect(b.currentLoad == 0)
        }
        // Equal loads: the seed spreads requests over both.
        let spread = Set(
            (0..<UInt64(10)).compactMap { seed -> String? in
                let picked = BackendSlot.acquireLeastLoaded([a, c], limit: 0, seed: seed)
                picked?.release()
                return picked?.backend.id
            })
        #expect(spread == ["a", "c"])
        #expect(BackendSlot.acquireLeastLoaded([], limit: 0, seed: 0) == nil)
    }

    @Test func theConcurrencyLimitCapsEveryInstance() {
        let (a, b) = (self.slot("a"), self.slot("b"))
        let taken = (0..<4).compactMap { seed in BackendSlot.acquireLeastLoaded([a, b], limit: 2, seed: UInt64(seed)) }
        #expect(taken.count == 4)
        #expect(a.currentLoad == 2 && b.currentLoad == 2)
        #expect(BackendSlot.acquireLeastLoaded([a, b], limit: 2, seed: 0) == nil)
        // A lone instance at its limit is full too (no shortcut past the limit).
        #expect(BackendSlot.acquireLeastLoaded([a], limit: 2, seed: 0) == nil)
        b.release()
        #expect(BackendSlot.acquireLeastLoaded([a, b], limit: 2, seed: 0) === b)
    }

    @Test func drainingInstancesTakeNoNewRequests() {
        let (a, b) = (self.slot("a"), self.slot("b"))
        a.retired.store(true, ordering: .relaxed)
        b.acquire()
        b.acquire()
        // Busier, but the only one still routed.
        #expect(BackendSlot.acquireLeastLoaded([a, b], limit: 0, seed: 0) === b)
        #expect(BackendSlot.acquireLeastLoaded([a, b], limit: 4, seed: 0) === b)
        #expect(BackendSlot.acquireLeastLoaded([a, b], limit: 4, seed: 0) == nil, "a draining instance is never full")
        #expect(a.currentLoad == 0 && b.currentLoad == 4)
    }

    // MARK: Queueing

    @Test func waitersAreServedOldestFirstAsCapacityFrees() throws {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        let tickets = ["r1", "r2", "r3"].compactMap { self.enqueue(&machine, $0) }
        #expect(tickets.map(\.id) == tickets.map(\.id).sorted())
        #expect(Set(tickets).count == 3)
        #expect(machine.waiting == 3)

        let a = self.slot("a")
        #expect(self.handed(machine.setSlots([a])) == ["r1→a"])
        #expect(a.currentLoad == 1, "the hand-off carries capacity already taken")
        #expect(self.handed(machine.capacityFreed()).isEmpty, "a full instance serves no one")

        a.release()
        #expect(self.handed(machine.capacityFreed()) == ["r2→a"])
        a.release()
        #expect(self.handed(machine.capacityFreed()) == ["r3→a"])
        #expect(machine.waiting == 0)
        a.release()
        #expect(self.handed(machine.capacityFreed()).isEmpty)
        #expect(a.currentLoad == 0)
    }

    @Test func aNewInstanceServesAsManyWaitersAsItHasRoomFor() {
        var machine = Machine(concurrency: 2, queueDepth: 10)
        for waiter in ["r1", "r2", "r3"] { self.enqueue(&machine, waiter) }
        let a = self.slot("a")
        #expect(self.handed(machine.setSlots([a])) == ["r1→a", "r2→a"])
        #expect(machine.waiting == 1)
        let b = self.slot("b")
        #expect(self.handed(machine.setSlots([a, b])) == ["r3→b"])
        #expect(a.currentLoad == 2 && b.currentLoad == 1)
    }

    @Test func withoutALimitOneInstanceServesTheWholeQueue() {
        var machine = Machine(concurrency: 0, queueDepth: 10)
        for waiter in ["r1", "r2", "r3"] { self.enqueue(&machine, waiter) }
        let a = self.slot("a")
        #expect(self.handed(machine.setSlots([a])) == ["r1→a", "r2→a", "r3→a"])
        #expect(a.currentLoad == 3)
    }

    /// The request's own pick ran before the lock: capacity freed in between must not be
    /// missed (the caller asks right after queueing).
    @Test func capacityFreedBetweenThePickAndTheQueueGoesToTheWaiter() {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        let a = self.slot("a")
        #expect(machine.setSlots([a]).isEmpty)
        a.acquire()
        #expect(BackendSlot.acquireLeastLoaded([a], limit: 1, seed: 0) == nil)
        a.release()  // the running request finishes; no one was queued yet
        self.enqueue(&machine, "r1")
        #expect(self.handed(machine.capacityFreed()) == ["r1→a"])
    }

    @Test func aFullQueueRefusesAndAQueuelessRevisionRefusesAtOnce() {
        var machine = Machine(concurrency: 1, queueDepth: 2)
        let first = self.enqueue(&machine, "r1")
        self.enqueue(&machine, "r2")
        guard case .refused(.queueFull) = machine.enqueue("r3", key: "hello") else {
            Issue.record("a third request fits in a queue of 2")
            return
        }
        #expect(machine.waiting == 2)
        // A place frees when a waiter leaves.
        let left = first.map { machine.leave($0) }
        #expect(left == true)
        self.enqueue(&machine, "r3")

        var queueless = Machine(concurrency: 0, queueDepth: 0)
        guard case .refused(.noQueue) = queueless.enqueue("r1", key: "hello") else {
            Issue.record("a revision without a queue held a request")
            return
        }
        #expect(queueless.waiting == 0)
    }

    // MARK: Leaving

    @Test func aWaiterThatTimesOutLeavesItsPlaceToTheNext() throws {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        let r1 = try #require(self.enqueue(&machine, "r1"))
        let r2 = try #require(self.enqueue(&machine, "r2"))
        let left = machine.leave(r1)
        let leftAgain = machine.leave(r1)
        #expect(left)
        #expect(!leftAgain, "left twice")
        let a = self.slot("a")
        #expect(self.handed(machine.setSlots([a])) == ["r2→a"])
        // Already handed: the hand-off is on its way and the waiter must refuse it.
        let leftAfterHandOff = machine.leave(r2)
        #expect(!leftAfterHandOff)
    }

    // MARK: Re-routing

    @Test func waitersOfAKeyThatMovedAwayAreRoutedAgainAndTheOthersKeepTheirPlaces() {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        self.enqueue(&machine, "r1", key: "hello")
        self.enqueue(&machine, "r2", key: "next---hello")
        self.enqueue(&machine, "r3", key: "hello")
        self.enqueue(&machine, "r4", key: "next---hello")
        #expect(self.handed(machine.reroute(keys: ["other"])).isEmpty)
        #expect(self.handed(machine.reroute(keys: ["hello"])) == ["r1→route again", "r3→route again"])
        #expect(machine.waiting == 2)
        let a = self.slot("a")
        #expect(self.handed(machine.setSlots([a])) == ["r2→a"])
        a.release()
        #expect(self.handed(machine.capacityFreed()) == ["r4→a"])
    }

    @Test func aRemovedRevisionSendsEveryWaiterBackAndQueuesNoMore() {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        let a = self.slot("a")
        _ = machine.setSlots([a])
        a.acquire()
        self.enqueue(&machine, "r1")
        self.enqueue(&machine, "r2", key: "next---hello")
        #expect(self.handed(machine.remove()) == ["r1→route again", "r2→route again"])
        #expect(machine.waiting == 0)
        #expect(machine.slots.isEmpty)
        guard case .refused(.removed) = machine.enqueue("r3", key: "hello") else {
            Issue.record("a removed revision queued a request")
            return
        }
        // Its instance's capacity, freed later, serves nobody here.
        a.release()
        #expect(machine.capacityFreed().isEmpty)
    }

    @Test func capacityOfAnInstanceThatLeftTheRevisionServesNobody() {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        let (a, b) = (self.slot("a"), self.slot("b"))
        _ = machine.setSlots([a, b])
        a.acquire()
        b.acquire()
        self.enqueue(&machine, "r1")
        // `a` is drained: it leaves the revision while its request still runs.
        #expect(machine.setSlots([b]).isEmpty)
        a.retired.store(true, ordering: .relaxed)
        a.release()
        #expect(machine.capacityFreed().isEmpty)
        b.release()
        #expect(self.handed(machine.capacityFreed()) == ["r1→b"])
    }
}
