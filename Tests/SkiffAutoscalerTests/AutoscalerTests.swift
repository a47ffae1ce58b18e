import Testing

@testable import SkiffAutoscaler

/// Tick-by-tick cases computed by hand from Knative's KPA rules, with target 10 per instance.
@Suite struct AutoscalerTests {
    static func settings(_ change: (inout ScalingSettings) -> Void = { _ in }) -> ScalingSettings {
        var settings = ScalingSettings()
        settings.target = 10
        settings.targetUtilization = 1
        change(&settings)
        return settings
    }

    /// Records `value` once per second for seconds `range`.
    static func feed(_ scaler: inout Autoscaler, _ value: Double, _ range: ClosedRange<Int>) {
        for second in range { scaler.record(concurrency: value, at: .seconds(second)) }
    }

    @Test func steadyLoadAsksForLoadOverTarget() {
        var scaler = Autoscaler(settings: Self.settings())
        Self.feed(&scaler, 50, 0...59)
        let decision = scaler.decide(now: .seconds(59), readyInstances: 5)
        #expect(decision == .init(desired: 5, stableConcurrency: 50, panicConcurrency: 50, inPanic: false))
    }

    @Test func aStepFromOneInstancePanicsAndScalesAtOnce() {
        var scaler = Autoscaler(settings: Self.settings())
        Self.feed(&scaler, 50, 0...59)
        // panic desire 5 ≥ 2 × 1 ready: panic, and the panic desire wins.
        let decision = scaler.decide(now: .seconds(59), readyInstances: 1)
        #expect(decision.desired == 5)
        #expect(decision.inPanic)
    }

    @Test func aBurstPanicsNeverScalesDownInPanicAndLeavesAfterAStableWindow() {
        var scaler = Autoscaler(settings: Self.settings())
        Self.feed(&scaler, 20, 0...53)
        Self.feed(&scaler, 200, 54...59)
        // stable (54×20 + 6×200) / 60 = 38 → 4; panic 200 → 20 ≥ 2 × 2 ready.
        let burst = scaler.decide(now: .seconds(59), readyInstances: 2)
        #expect(burst == .init(desired: 20, stableConcurrency: 38, panicConcurrency: 200, inPanic: true))

        Self.feed(&scaler, 0, 60...70)
        // The load is gone, but panic holds the count until 60 s after the last crossing.
        let holding = scaler.decide(now: .seconds(70), readyInstances: 20)
        #expect(holding.desired == 20)
        #expect(holding.inPanic)

        Self.feed(&scaler, 0, 71...119)
        #expect(scaler.decide(now: .seconds(118), readyInstances: 20).inPanic)
        Self.feed(&scaler, 0, 120...120)
        // Out of panic: stable desire 0, but at most ÷2 per tick: 20 → 10.
        let calm = scaler.decide(now: .seconds(120), readyInstances: 20)
        #expect(calm == .init(desired: 10, stableConcurrency: 0, panicConcurrency: 0, inPanic: false))
        #expect(scaler.decide(now: .seconds(122), readyInstances: 10).desired == 5)
    }

    @Test func aSlowRampPanicsEarlyHoldsAndThenFollowsTheStableWindow() {
        var scaler = Autoscaler(settings: Self.settings())
        var ready = 1
        var decisions: [Int: Autoscaler.Decision] = [:]
        for second in 0...119 {
            scaler.record(concurrency: Double(min(second, 60)), at: .seconds(second))
            if second % 2 == 1 {
                let decision = scaler.decide(now: .seconds(second), readyInstances: ready)
                decisions[second] = decision
                ready = decision.desired
            }
        }
        // t=13: the panic window (8…13) averages 10.5 → 2 instances ≥ 2 × 1 ready: panic.
        #expect(decisions[11]?.inPanic == false)
        #expect(decisions[13] == .init(desired: 2, stableConcurrency: 6.5, panicConcurrency: 10.5, inPanic: true))
        // In panic the count only grows; the ramp never crosses the threshold again.
        let inPanic = (13...71).filter { $0 % 2 == 1 }.compactMap { decisions[$0]?.desired }
        #expect(zip(inPanic, inPanic.dropFirst()).allSatisfy { $0 <= $1 }, "\(inPanic)")
        #expect(decisions[71]?.inPanic == true)
        // t=73: 60 s after the crossing, panic ends and the lagging stable window rules:
        // seconds 14…73 average (14+…+60 + 13×60) / 60 = 41.98 → 5.
        #expect(decisions[73]?.inPanic == false)
        #expect(decisions[73]?.desired == 5)
        // Once the window holds only the plateau of 60: 6 instances.
        #expect(decisions[119]?.desired == 6)
    }

    @Test func flappingLoadIsAveragedNotChased() {
        var scaler = Autoscaler(settings: Self.settings())
        for second in 0...59 { scaler.record(concurrency: second % 2 == 0 ? 0 : 40, at: .seconds(second)) }
        let decision = scaler.decide(now: .seconds(59), readyInstances: 2)
        #expect(decision == .init(desired: 2, stableConcurrency: 20, panicConcurrency: 20, inPanic: false))
    }

    @Test func scalesToZeroOnlyAfterTheGraceAndWakesOnDemand() {
        var scaler = Autoscaler(settings: Self.settings { $0.stableWindow = .seconds(6) })
        Self.feed(&scaler, 5, 0...9)
        Self.feed(&scaler, 0, 10...16)
        // The window (11…16) is idle, but the last request was 7 s ago: keep one.
        #expect(scaler.decide(now: .seconds(16), readyInstances: 1).desired == 1)
        Self.feed(&scaler, 0, 17...39)
        #expect(scaler.decide(now: .seconds(39), readyInstances: 1).desired == 0)
        // A request for a revision at zero asks for an instance before any sample shows it.
        scaler.noteDemand(at: .seconds(50))
        #expect(scaler.decide(now: .seconds(50), readyInstances: 0).desired == 1)
    }

    @Test func boundsAndScaleDownDelay() {
        var bounded = Autoscaler(
            settings: Self.settings {
                $0.minInstances = 2
                $0.maxInstances = 3
            })
        #expect(bounded.decide(now: .seconds(0), readyInstances: 0).desired == 2)
        Self.feed(&bounded, 100, 0...59)
        #expect(bounded.decide(now: .seconds(59), readyInstances: 3).desired == 3)

        var delayed = Autoscaler(
            settings: Self.settings {
                $0.stableWindow = .seconds(6)
                $0.scaleDownDelay = .seconds(10)
            })
        Self.feed(&delayed, 40, 0...5)
        #expect(delayed.decide(now: .seconds(5), readyInstances: 4).desired == 4)
        Self.feed(&delayed, 0, 6...12)
        // The desire fell to 2 (÷2 rate), but the delay keeps the 4 seen 7 s ago.
        #expect(delayed.decide(now: .seconds(12), readyInstances: 4).desired == 4)
        Self.feed(&delayed, 0, 13...16)
        #expect(delayed.decide(now: .seconds(16), readyInstances: 4).desired == 2)
    }
}
