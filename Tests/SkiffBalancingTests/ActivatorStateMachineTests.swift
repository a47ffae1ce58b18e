import SkiffBalancing
import Testing

/// An instance as the balancer sees it, with a plain counter.
final class CountedInstance: BalancedInstance {
    let id: String
    var currentLoad = 0
    var isRetired = false

    init(_ id: String) {
        self.id = id
    }

    func tryAcquire(limit: Int) -> Bool {
        guard limit == 0 || self.currentLoad < limit else { return false }
        self.acquire()
        return true
    }

    func acquire() { self.currentLoad += 1 }
    func release() { self.currentLoad -= 1 }
}

/// The balancer's pick and the activator's decisions, event by event, on plain values: no
/// loop, no socket, no clock.
@Suite("ActivatorStateMachine")
struct ActivatorStateMachineTests {
    typealias Machine = ActivatorStateMachine<String, CountedInstance>

    func slot(_ id: String) -> CountedInstance { CountedInstance(id) }

    /// `waiter→instance` (or `waiter→route again`) for each hand-off, in order.
    func handed(_ handOffs: Machine.HandOffs) -> [String] {
        handOffs.map { "\($0.waiter)→\($0.instance?.id ?? "route again")" }
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
            let picked = Balancer.acquireLeastLoaded([a, b, c], limit: 0, seed: seed)
            #expect(picked === b)
            #expect(b.currentLoad == 1)
            picked?.release()
            #expect(b.currentLoad == 0)
        }
        // Equal loads: the seed spreads requests over both.
        let spread = Set(
            (0..<UInt64(10)).compactMap { seed -> String? in
                let picked = Balancer.acquireLeastLoaded([a, c], limit: 0, seed: seed)
                picked?.release()
                return picked?.id
            })
        #expect(spread == ["a", "c"])
        #expect(Balancer.acquireLeastLoaded([CountedInstance](), limit: 0, seed: 0) == nil)
    }

    @Test func theConcurrencyLimitCapsEveryInstance() {
        let (a, b) = (self.slot("a"), self.slot("b"))
        let taken = (0..<4).compactMap { seed in Balancer.acquireLeastLoaded([a, b], limit: 2, seed: UInt64(seed)) }
        #expect(taken.count == 4)
        #expect(a.currentLoad == 2 && b.currentLoad == 2)
        #expect(Balancer.acquireLeastLoaded([a, b], limit: 2, seed: 0) == nil)
        // A lone instance at its limit is full too (no shortcut past the limit).
        #expect(Balancer.acquireLeastLoaded([a], limit: 2, seed: 0) == nil)
        b.release()
        #expect(Balancer.acquireLeastLoaded([a, b], limit: 2, seed: 0) === b)
    }

    @Test func drainingInstancesTakeNoNewRequests() {
        let (a, b) = (self.slot("a"), self.slot("b"))
        a.isRetired = true
        b.acquire()
        b.acquire()
        // Busier, but the only one still routed.
        #expect(Balancer.acquireLeastLoaded([a, b], limit: 0, seed: 0) === b)
        #expect(Balancer.acquireLeastLoaded([a, b], limit: 4, seed: 0) === b)
        #expect(Balancer.acquireLeastLoaded([a, b], limit: 4, seed: 0) == nil, "a draining instance is never full")
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
        #expect(self.handed(machine.setInstances([a])) == ["r1→a"])
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
        #expect(self.handed(machine.setInstances([a])) == ["r1→a", "r2→a"])
        #expect(machine.waiting == 1)
        let b = self.slot("b")
        #expect(self.handed(machine.setInstances([a, b])) == ["r3→b"])
        #expect(a.currentLoad == 2 && b.currentLoad == 1)
    }

    @Test func withoutALimitOneInstanceServesTheWholeQueue() {
        var machine = Machine(concurrency: 0, queueDepth: 10)
        for waiter in ["r1", "r2", "r3"] { self.enqueue(&machine, waiter) }
        let a = self.slot("a")
        #expect(self.handed(machine.setInstances([a])) == ["r1→a", "r2→a", "r3→a"])
        #expect(a.currentLoad == 3)
    }

    /// The request's own pick ran before the lock: capacity freed in between must not be
    /// missed (the caller asks right after queueing).
    @Test func capacityFreedBetweenThePickAndTheQueueGoesToTheWaiter() {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        let a = self.slot("a")
        #expect(machine.setInstances([a]).isEmpty)
        a.acquire()
        #expect(Balancer.acquireLeastLoaded([a], limit: 1, seed: 0) == nil)
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
        #expect(self.handed(machine.setInstances([a])) == ["r2→a"])
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
        #expect(self.handed(machine.setInstances([a])) == ["r2→a"])
        a.release()
        #expect(self.handed(machine.capacityFreed()) == ["r4→a"])
    }

    @Test func aRemovedRevisionSendsEveryWaiterBackAndQueuesNoMore() {
        var machine = Machine(concurrency: 1, queueDepth: 10)
        let a = self.slot("a")
        _ = machine.setInstances([a])
        a.acquire()
        self.enqueue(&machine, "r1")
        self.enqueue(&machine, "r2", key: "next---hello")
        #expect(self.handed(machine.remove()) == ["r1→route again", "r2→route again"])
        #expect(machine.waiting == 0)
        #expect(machine.instances.isEmpty)
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
        _ = machine.setInstances([a, b])
        a.acquire()
        b.acquire()
        self.enqueue(&machine, "r1")
        // `a` is drained: it leaves the revision while its request still runs.
        #expect(machine.setInstances([b]).isEmpty)
        a.isRetired = true
        a.release()
        #expect(machine.capacityFreed().isEmpty)
        b.release()
        #expect(self.handed(machine.capacityFreed()) == ["r1→b"])
    }
}

@Suite("TieBreaker")
struct TieBreakerTests {
    @Test func theSameSeedGivesTheSameSequenceAndZeroIsNotStuck() {
        var first = TieBreaker(seed: 42)
        var second = TieBreaker(seed: 42)
        let a = (0..<8).map { _ in first.next() }
        #expect(a == (0..<8).map { _ in second.next() })
        var zero = TieBreaker(seed: 0)
        let fromZero = (0..<8).map { _ in zero.next() }
        #expect(Set(fromZero).count == 8)
    }

    @Test func seedsSpreadTiesOverEveryInstance() {
        let instances = (0..<4).map { CountedInstance("i\($0)") }
        var tieBreaker = TieBreaker(seed: 7)
        var picked: [String: Int] = [:]
        for _ in 0..<400 {
            let instance = Balancer.acquireLeastLoaded(instances, limit: 0, seed: tieBreaker.next())
            if let instance {
                picked[instance.id, default: 0] += 1
                instance.release()
            }
        }
        #expect(picked.count == 4)
        #expect(picked.values.allSatisfy { $0 > 50 })
    }
}
