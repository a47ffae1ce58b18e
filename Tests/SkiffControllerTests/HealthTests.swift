import Foundation
import SkiffModel
import SkiffTestSupport
import Testing

@testable import SkiffController

/// Probe counting with Kubernetes' thresholds, the event log, and crash log tails.
@Suite struct HealthTests {
    let start: Duration = .seconds(7)

    @Test func readinessFailsAfterTheThresholdAndPassesAfterSuccesses() {
        var tracker = ProbeTracker(
            probe: Probe(httpGet: HTTPGetAction(), failureThreshold: 3, successThreshold: 2), startingAt: start)
        #expect(tracker.record(passed: false) == .failed(1, of: 3))
        #expect(tracker.record(passed: true) == .unchanged, "a success resets the failures")
        #expect(tracker.record(passed: false) == .failed(1, of: 3))
        #expect(tracker.record(passed: false) == .failed(2, of: 3))
        #expect(tracker.record(passed: false) == .becameFailing)
        #expect(!tracker.passing)
        #expect(tracker.record(passed: false) == .unchanged)
        #expect(tracker.record(passed: true) == .unchanged, "one success of two")
        #expect(tracker.record(passed: true) == .becamePassing)
        #expect(tracker.passing)
    }

    @Test func firstCheckWaitsForTheInitialDelay() {
        let tracker = ProbeTracker(
            probe: Probe(tcpSocket: TCPSocketAction(), initialDelaySeconds: 5), startingAt: start)
        #expect(tracker.nextCheck == start + .seconds(5))
        #expect(
            ProbeTracker(probe: Probe(tcpSocket: TCPSocketAction(), periodSeconds: 0), startingAt: start).period
                == .seconds(1))
    }

    @Test func startupBudgetIsDelayPlusFailuresTimesPeriod() {
        #expect(
            Probe(tcpSocket: TCPSocketAction(), initialDelaySeconds: 2, periodSeconds: 5, failureThreshold: 6)
                .startupBudget == .seconds(32))
    }

    @Test func eventsRepeatingThemselvesAreCounted() {
        var log = EventLog()
        let event = ServiceEvent(
            kind: .warning, reason: "Unhealthy", message: "x", service: "web", revision: "web-00001", instance: "i")
        log.record(event)
        log.record(event)
        log.record(ServiceEvent(kind: .normal, reason: "Ready", message: "y", service: "web", revision: "web-00002"))
        let events = log.events(of: "web")
        #expect(events.map(\.count) == [2, 1])
        #expect(log.events(of: "web", revision: "web-00002").map(\.reason) == ["Ready"])
        for index in 0..<(EventLog.capacity + 5) {
            log.record(ServiceEvent(kind: .normal, reason: "R", message: "\(index)", service: "web"))
        }
        #expect(log.events(of: "web").count == EventLog.capacity)
        #expect(log.events(of: "web").last?.message == "\(EventLog.capacity + 4)")
        log.forget("web")
        #expect(log.events(of: "web").isEmpty)
    }

    @Test func logTailKeepsTheLastWholeLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/tail.log"
        let text = (1...50).map { "line \($0)" }.joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(LogTail.read(path, lines: 3) == ["line 48", "line 49", "line 50"])
        #expect(LogTail.read(path, lines: 2, maxBytes: 20) == ["line 49", "line 50"])
        #expect(LogTail.read(path + ".missing").isEmpty)
    }
}
