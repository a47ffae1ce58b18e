import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import SkiffBalancing
import Testing

@testable import SkiffGateway

/// The activator's shell on an `EmbeddedEventLoop`: admission, the autoscaler's poke, and
/// hand-offs that cross to the waiter's loop, where a request that ended on the way refuses
/// its instance and the capacity goes back. No socket, no sleep: the loop runs when told.
@Suite("Activator hand-offs")
struct ActivatorHandOffTests {
    /// A request waiting on the embedded loop: it takes a hand-off only for the ticket it holds.
    final class Waiter: ActivatorWaiter {
        let name: String
        var ticket: ActivatorTicket?
        /// What it was handed, in order: a backend ID, or "route again".
        var handed: [String] = []
        /// The capacity it holds, which the test gives back when the request "finishes".
        var slot: BackendSlot?

        init(_ name: String) { self.name = name }

        func activator(_ activator: Activator, handedOver slot: BackendSlot?, for ticket: ActivatorTicket) -> Bool {
            guard ticket == self.ticket else { return false }
            self.ticket = nil
            self.slot = slot
            self.handed.append(slot?.backend.id ?? "route again")
            return true
        }

        func finish() {
            self.slot?.release()
            self.slot = nil
        }
    }

    let loop = EmbeddedEventLoop()
    let demands = NIOLockedValueBox<[String]>([])
    let revision: RevisionRoute

    init() {
        self.revision = Self.revision(RevisionSettings(concurrency: 1, queueDepth: 10), demands: self.demands)
    }

    static func revision(_ settings: RevisionSettings, demands: NIOLockedValueBox<[String]>) -> RevisionRoute {
        RevisionRoute(
            name: "hello-00001", settings: settings, onDemand: { name in demands.withLockedValue { $0.append(name) } })
    }

    var activator: Activator { self.revision.activator }

    func slot(_ id: String) -> BackendSlot {
        BackendSlot(backend: Backend(id: id, host: "10.0.0.1", port: 1), revision: self.revision)
    }

    /// Admits `waiter`'s request as the proxy does: `slots` is its routing snapshot.
    @discardableResult
    func admit(
        _ waiter: Waiter, from slots: [BackendSlot] = [], key: String = "hello", on revision: RevisionRoute? = nil
    )
        -> Activator.Admission
    {
        let activator = (revision ?? self.revision).activator
        let admission = activator.admit(
            from: slots, seed: 0, key: key, waiter: NIOLoopBound(waiter, eventLoop: self.loop))
        switch admission {
        case .acquired(let slot): waiter.slot = slot
        case .queued(let ticket): waiter.ticket = ticket
        case .refused: break
        }
        return admission
    }

    @Test func aRequestWithCapacityAtHandTakesItWithoutQueueing() {
        let a = self.slot("a")
        self.activator.setSlots([a])
        let waiter = Waiter("r1")
        guard case .acquired(let slot) = self.admit(waiter, from: [a]) else {
            Issue.record("a free instance was not taken")
            return
        }
        #expect(slot === a && a.currentLoad == 1)
        #expect(self.activator.queued == 0)
        #expect(self.demands.withLockedValue { $0 }.isEmpty, "the autoscaler is only poked for waiting requests")
    }

    @Test func aWaitingRequestPokesTheAutoscalerAndGetsTheNewInstanceOnItsLoop() {
        let waiter = Waiter("r1")
        guard case .queued = self.admit(waiter) else {
            Issue.record("not queued")
            return
        }
        #expect(self.demands.withLockedValue { $0 } == ["hello-00001"])
        #expect(self.activator.queued == 1)
        let a = self.slot("a")
        self.activator.setSlots([a])
        #expect(self.activator.queued == 0)
        #expect(a.currentLoad == 1, "capacity is taken before the hand-off travels")
        #expect(waiter.handed.isEmpty, "the hand-off runs on the waiter's loop, not the caller's")
        self.loop.run()
        #expect(waiter.handed == ["a"])
    }

    @Test func aFinishingRequestHandsItsCapacityToTheOldestWaiter() throws {
        let a = self.slot("a")
        self.activator.setSlots([a])
        let running = Waiter("r0")
        self.admit(running, from: [a])
        let (first, second) = (Waiter("r1"), Waiter("r2"))
        self.admit(first, from: [a])
        self.admit(second, from: [a])
        #expect(self.activator.queued == 2)

        running.finish()
        self.loop.run()
        #expect(first.handed == ["a"] && second.handed.isEmpty)
        #expect(a.currentLoad == 1)
        first.finish()
        self.loop.run()
        #expect(second.handed == ["a"])
        second.finish()
        self.loop.run()
        #expect(a.currentLoad == 0)
        #expect(self.activator.queued == 0)
    }

    /// The hand-off crosses loops, so a request can end (its client gone, its handler freed)
    /// before the slot arrives: the capacity must come back, or the instance counts one request
    /// in flight for good and never scales to zero.
    @Test func capacityHandedToARequestThatEndedGoesBack() {
        let a = self.slot("a")
        self.activator.setSlots([a])
        let running = Waiter("r0")
        self.admit(running, from: [a])
        let gone = Waiter("gone")
        self.admit(gone, from: [a])
        gone.ticket = nil  // it ends without leaving the queue in time
        running.finish()
        #expect(a.currentLoad == 1, "handed to the waiter")
        self.loop.run()
        #expect(gone.handed.isEmpty)
        #expect(a.currentLoad == 0, "capacity handed to a request that ended was kept")

        // A request still waiting keeps what it is handed.
        self.admit(running, from: [a])
        let waiting = Waiter("r1")
        self.admit(waiting, from: [a])
        running.finish()
        self.loop.run()
        #expect(waiting.handed == ["a"])
        #expect(a.currentLoad == 1)
    }

    /// A request that times out just after the activator chose it cannot leave the queue any
    /// more; the capacity it refuses goes on to the next waiter.
    @Test func aWaiterThatTimesOutDuringTheHandOffPassesTheCapacityOn() throws {
        let a = self.slot("a")
        self.activator.setSlots([a])
        let running = Waiter("r0")
        self.admit(running, from: [a])
        let (late, next) = (Waiter("late"), Waiter("next"))
        self.admit(late, from: [a])
        self.admit(next, from: [a])
        running.finish()  // the hand-off to `late` is on its way
        let ticket = try #require(late.ticket)
        #expect(!self.activator.leave(ticket), "already handed: it is no longer in the queue")
        late.ticket = nil  // it answered 504
        self.loop.run()
        #expect(late.handed.isEmpty)
        #expect(next.handed == ["a"])
        #expect(a.currentLoad == 1)
    }

    /// A connection's next request may queue before a hand-off meant for the previous one
    /// arrives: the ticket tells them apart, and the new request waits its own turn.
    @Test func aHandOffMeantForAnEarlierWaitIsRefused() throws {
        let a = self.slot("a")
        self.activator.setSlots([a])
        let running = Waiter("r0")
        self.admit(running, from: [a])
        let connection = Waiter("connection")
        self.admit(connection, from: [a])
        let earlier = try #require(connection.ticket)
        running.finish()  // handed to the first request, which ends before it arrives
        self.admit(connection, from: [a])  // the connection's next request
        let later = try #require(connection.ticket)
        #expect(later != earlier)
        self.loop.run()
        // The refused capacity came back and went to the new request through the queue.
        #expect(connection.handed == ["a"])
        #expect(connection.ticket == nil)
        #expect(a.currentLoad == 1)
        #expect(self.activator.queued == 0)
    }

    @Test func aWaiterThatLeavesGivesUpItsPlace() throws {
        let waiter = Waiter("r1")
        self.admit(waiter)
        let ticket = try #require(waiter.ticket)
        #expect(self.activator.leave(ticket))
        #expect(self.activator.queued == 0)
        let a = self.slot("a")
        self.activator.setSlots([a])
        self.loop.run()
        #expect(waiter.handed.isEmpty)
        #expect(a.currentLoad == 0)
    }

    @Test func fullAndQueuelessRevisionsRefuse() {
        let small = Self.revision(RevisionSettings(concurrency: 1, queueDepth: 1), demands: self.demands)
        guard case .queued = self.admit(Waiter("r1"), on: small) else {
            Issue.record("not queued")
            return
        }
        guard case .refused(.queueFull) = self.admit(Waiter("r2"), on: small) else {
            Issue.record("a queue of 1 took a second request")
            return
        }
        let queueless = Self.revision(RevisionSettings(), demands: self.demands)
        guard case .refused(.noQueue) = self.admit(Waiter("r3"), on: queueless) else {
            Issue.record("a revision without a queue held a request")
            return
        }
        #expect(self.demands.withLockedValue { $0 }.count == 1, "only the queued request poked the autoscaler")
    }

    @Test func waitersOfAKeyThatMovedAwayAreSentBackToBeRoutedAgain() {
        let (moved, stays) = (Waiter("moved"), Waiter("stays"))
        self.admit(moved, key: "hello")
        self.admit(stays, key: "next---hello")
        self.activator.reroute(keys: ["hello"])
        #expect(self.activator.queued == 1)
        self.loop.run()
        #expect(moved.handed == ["route again"])
        #expect(stays.handed.isEmpty)
    }

    @Test func aRemovedRevisionSendsItsWaitersBackAndTakesNoMore() {
        let waiter = Waiter("r1")
        self.admit(waiter)
        self.activator.remove()
        self.loop.run()
        #expect(waiter.handed == ["route again"])
        guard case .refused(.removed) = self.admit(Waiter("r2")) else {
            Issue.record("a removed revision queued a request")
            return
        }
    }
}
