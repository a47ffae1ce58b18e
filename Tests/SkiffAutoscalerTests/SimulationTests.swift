import SkiffModel
import Testing

@testable import SkiffAutoscaler

/// Traces small enough to follow by hand; cold start 300 ms and thaw 1 ms unless a test says
/// otherwise.
@Suite struct SimulationTests {
    static func run(
        _ trace: [TraceRequest], timeout: Duration = .zero, coldStart: Duration = .milliseconds(300),
        _ change: (inout ScalingSpec) -> Void = { _ in }
    ) -> SimulationReport {
        var scaling = ScalingSpec()
        change(&scaling)
        let configuration = Simulation.Configuration(
            scaling: scaling, responseStartTimeout: timeout, coldStart: coldStart)
        return Simulation(configuration: configuration).run(trace)
    }

    /// `count` requests arriving together at `second`.
    static func burst(_ count: Int, at second: Duration, lasting duration: Duration) -> [TraceRequest] {
        Array(repeating: TraceRequest(arrival: second, duration: duration), count: count)
    }

    static func row(_ report: SimulationReport, at time: Duration) throws -> SimulationReport.Tick {
        try #require(report.timeline.first { $0.time == time }, "no tick at \(time)")
    }

    @Test func aFirstRequestWithoutInstancesWaitsOneColdStart() throws {
        let report = Self.run([TraceRequest(arrival: .zero, duration: .milliseconds(100))]) {
            $0.initialInstances = 0
        }
        #expect(report.coldStarts == 1)
        #expect(report.instanceStarts == 1)
        #expect(report.served == 1)
        // Started by the activator's poke at once, not at the first tick.
        let coldStart = Duration.milliseconds(300)
        #expect(report.queueDelay == .init(p50: coldStart, p90: coldStart, p99: coldStart, max: coldStart))
        #expect(report.thawStarts == 0)
        let first = try Self.row(report, at: .seconds(2))
        #expect(first.desired == 1)
        #expect(first.ready == 1)
    }

    @Test func steadyLoadKeepsLoadOverTargetInstances() throws {
        // 35 requests a second of 1 s each: 35 in flight; target 10 at 100 %: ⌈35 / 10⌉ = 4.
        let trace = (0..<35 * 120).map { TraceRequest(arrival: .seconds(1) * (Double($0) / 35), duration: .seconds(1)) }
        let report = Self.run(trace) {
            $0.target = 10
            $0.targetUtilization = 100
        }
        let expected = Int((35.0 / (10 * 1.0)).rounded(.up))
        for second in stride(from: 10, through: 120, by: 2) {
            let row = try Self.row(report, at: .seconds(second))
            #expect(row.desired == expected, "at \(second)s")
            #expect(row.ready == expected, "at \(second)s")
        }
        #expect(report.peakInstances == expected)
        #expect(report.served == trace.count)
    }

    @Test func concurrencyOneQueuesSimultaneousRequests() throws {
        let report = Self.run(Self.burst(5, at: .seconds(1), lasting: .seconds(1))) {
            $0.concurrency = 1
            $0.maxInstances = 1
        }
        #expect(report.served == 5)
        // They start at 1, 2, 3, 4 and 5 s: waits 0…4 s.
        #expect(report.queueDelay == .init(p50: .seconds(2), p90: .seconds(4), p99: .seconds(4), max: .seconds(4)))
        #expect(report.coldStarts == 0)
        let row = try Self.row(report, at: .seconds(2))
        #expect(row.inFlight == 1)
        #expect(row.queued == 3)
    }

    @Test func aFullQueueRejectsWith429() {
        // One instance of concurrency 1: one request in flight, `queueDepth` queued, the
        // next refused.
        var scaling = ScalingSpec()
        scaling.concurrency = 1
        scaling.maxInstances = 1
        let depth = scaling.queueDepth
        let report = Simulation(configuration: .init(scaling: scaling))
            .run(Self.burst(depth + 2, at: .seconds(1), lasting: .milliseconds(10)))
        #expect(report.requests == depth + 2)
        #expect(report.rejected == 1)
        #expect(report.served == depth + 1)
        #expect(report.timedOut == 0)
    }

    @Test(arguments: [
        (Duration.milliseconds(1500), 1),
        (.seconds(1), 1),  // the second waits exactly 1 s: not longer, served
        (.milliseconds(500), 2),
        (.zero, 0),  // no limit
    ])
    func requestsQueuedPastTheResponseStartTimeoutGet504(_ timeout: Duration, _ timedOut: Int) {
        // Waits would be 0, 1 and 2 s.
        let report = Self.run(Self.burst(3, at: .seconds(1), lasting: .seconds(1)), timeout: timeout) {
            $0.concurrency = 1
            $0.maxInstances = 1
        }
        #expect(report.timedOut == timedOut)
        #expect(report.served == 3 - timedOut)
        #expect(report.rejected == 0)
    }

    @Test func scalesToZeroAfterGraceThenThawsWithinRetentionAndColdStartsAfter() throws {
        let trace = [1, 100, 1000].map { TraceRequest(arrival: .seconds($0), duration: .milliseconds(100)) }
        let report = Self.run(trace) { $0.frozenRetention = .seconds(300) }

        // The only concurrency of the first request is recorded in second 2; it leaves the
        // 60 s window at 62, when the 30 s grace since then is over too.
        let firstZero = try #require(report.timeline.first { $0.desired == 0 })
        #expect(firstZero.time == .seconds(62))
        // Kept frozen, still ready.
        let kept = try Self.row(report, at: .seconds(80))
        #expect(kept.desired == 0)
        #expect(kept.ready == 1)
        #expect(kept.frozen == 1)
        // The request at 100 s thaws it (1 ms); the next scale to zero (162 s) keeps it until
        // 462 s; the request at 1000 s starts a new instance (300 ms).
        #expect(report.thawStarts == 1)
        #expect(report.coldStarts == 1)
        #expect(report.instanceStarts == 2)
        #expect(report.queueDelay.p50 == .milliseconds(1))
        #expect(report.queueDelay.max == .milliseconds(300))
        // Nothing between the removal and the next request: the simulation jumps.
        #expect(!report.timeline.contains { $0.time > .seconds(462) && $0.time < .seconds(1000) })
        #expect(try Self.row(report, at: .seconds(462)).ready == 0)
        // The second instance: scaled to zero at 1062, kept until 1362.
        #expect(report.end == .seconds(1362))
        // Running: 0.3 start + 0.7 idle + 0.1 + 1 s before freezing, 1 ms thaw + 0.1 + 1 s;
        // then 0.3 start + 0.1 + 1 s. Everything else of 0…462 and 1000…1362 frozen.
        #expect(report.runningTime == .milliseconds(2100 + 1101 + 1400))
        #expect(report.frozenTime == .seconds(462 + 362) - .milliseconds(4601))
    }

    @Test func withoutRetentionScaleToZeroRemovesTheInstance() throws {
        let trace = [1, 100].map { TraceRequest(arrival: .seconds($0), duration: .milliseconds(100)) }
        let report = Self.run(trace) { $0.frozenRetention = .seconds(0) }
        #expect(try Self.row(report, at: .seconds(62)).ready == 0)
        #expect(report.coldStarts == 1)
        #expect(report.thawStarts == 0)
        #expect(report.instanceStarts == 2)
    }

    @Test func resourceSecondsSplitRunningAndFrozen() {
        // One instance kept (min 1): ready at 0.3, frozen at 1.3, thawed at 10 by a 2 s
        // request (which starts at 10.001), frozen again at 13.001. The window forgets the
        // request's last second (13) at 74 s, where the revision settles.
        let report = Self.run([TraceRequest(arrival: .seconds(10), duration: .seconds(2))]) {
            $0.minInstances = 1
        }
        #expect(report.end == .seconds(74))
        #expect(report.thawStarts == 1)
        #expect(report.queueDelay.max == .milliseconds(1))
        #expect(report.runningTime == .milliseconds(300 + 1000 + 1 + 2000 + 1000))
        #expect(report.frozenTime == .milliseconds(8700 + 60999))
    }

    @Test func scaleDownRemovesTheIdleInstanceAndKeepsTheBusyOne() throws {
        // Two initial instances. Two short requests at 0.5 s take one each; one of them then
        // takes a 100 s request at 1 s. At 2 s one instance is wanted: the idle one goes,
        // whichever of the two it is.
        let trace =
            [
                TraceRequest(arrival: .milliseconds(500), duration: .milliseconds(100)),
                TraceRequest(arrival: .milliseconds(500), duration: .milliseconds(200)),
                TraceRequest(arrival: .seconds(1), duration: .seconds(100)),
            ]
        let report = Self.run(trace) { $0.initialInstances = 2 }
        #expect(try Self.row(report, at: .seconds(2)).desired == 1)
        let row = try Self.row(report, at: .seconds(4))
        #expect(row.ready == 1)
        #expect(row.inFlight == 1)
        // The one left is the busy one, not the idle (frozen by now) one.
        #expect(row.frozen == 0)
        #expect(report.instanceStarts == 2)
    }

    @Test func scaleDownRemovesStartingInstancesBeforeReadyOnesNewestFirst() throws {
        // Per instance 1; a 6 s window for both decisions and no panic; starts take 10 s;
        // no freezing (a thaw would stretch the requests).
        // Twelve 2 s requests at 11 s: the window's mean is 2 at 12 s and 4 at 14 s (one,
        // then two more instances starting), 2 at 18 s: the two newest starting ones go.
        let report = Self.run(Self.burst(12, at: .seconds(11), lasting: .seconds(2)), coldStart: .seconds(10)) {
            $0.target = 1
            $0.targetUtilization = 100
            $0.window = .seconds(6)
            $0.panicWindowPercentage = 100
            $0.panicThresholdPercentage = 1000
            $0.freezeAfter = .seconds(0)
        }
        #expect(try Self.row(report, at: .seconds(14)).starting == 3)
        let row = try Self.row(report, at: .seconds(18))
        #expect(row.desired == 2)
        #expect(row.ready == 1)
        #expect(row.starting == 1)
        #expect(report.instanceStarts == 4)
    }

    @Test func aRequestGoesToTheLeastLoadedInstanceAndWaitsOnlyWhenAllAreFull() {
        // Two instances kept, one request each at most. A 10 s request holds one; the short
        // requests after it go to the other (the gateway's pick), never queueing behind it.
        // Then two arrive together with both busy: the second waits for the first to end.
        var trace = [TraceRequest(arrival: .milliseconds(500), duration: .seconds(10))]
        trace += (2...9).map { TraceRequest(arrival: .milliseconds(500 * $0), duration: .milliseconds(200)) }
        trace += [
            TraceRequest(arrival: .seconds(7), duration: .milliseconds(300)),
            TraceRequest(arrival: .seconds(7), duration: .milliseconds(300)),
        ]
        let report = Self.run(trace) {
            $0.minInstances = 2
            $0.initialInstances = 2
            $0.concurrency = 1
            $0.freezeAfter = .seconds(0)
        }
        #expect(report.served == 11)
        // Of 11, only the one that arrived with both instances busy waited.
        #expect(report.queueDelay.max == .milliseconds(300))
        #expect(report.queueDelay.p90 == .zero)
    }

    @Test func isDeterministicAndIgnoresTraceOrder() {
        let trace = (0..<500).map { index in
            TraceRequest(arrival: .milliseconds((index * 7919) % 30_000), duration: .milliseconds(50 + index % 400))
        }
        let simulation = Simulation(configuration: .init())
        let report = simulation.run(trace)
        #expect(report == simulation.run(trace))
        #expect(report == simulation.run(trace.sorted { $0.arrival < $1.arrival }))
        #expect(report.served + report.rejected + report.timedOut == report.requests)
    }
}
