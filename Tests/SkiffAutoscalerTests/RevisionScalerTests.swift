import SkiffModel
import Testing

@testable import SkiffAutoscaler

/// The policy around the KPA: initial scale, waking on demand, readiness.
@Suite struct RevisionScalerTests {
    static func spec(_ change: (inout ScalingSpec) -> Void = { _ in }) -> ScalingSpec {
        var spec = ScalingSpec()
        spec.target = 10
        spec.targetUtilization = 100
        spec.window = .seconds(6)
        spec.scaleToZeroGrace = .seconds(4)
        change(&spec)
        return spec
    }

    @Test func startsAtTheInitialInstancesAndHoldsThemUntilTheyWereReady() {
        var scaler = RevisionScaler(spec: Self.spec { $0.initialInstances = 3 }, now: .zero)
        #expect(scaler.desired == 3)
        #expect(!scaler.isReady)
        // No traffic, but only one of three is up: the KPA alone would scale down; initial scale holds.
        let held = scaler.tick(now: .seconds(10), readyInstances: 1)
        #expect(held.desired == 3)
        scaler.observe(readyInstances: 3)
        #expect(scaler.isReady)
        // From now on the KPA decides: no traffic and the grace long passed → ÷2 per tick.
        let after = scaler.tick(now: .seconds(12), readyInstances: 3)
        #expect(after.desired == 1)
    }

    @Test func minInstancesArePartOfTheInitialScale() {
        var scaler = RevisionScaler(
            spec: Self.spec {
                $0.initialInstances = 1
                $0.minInstances = 2
            }, now: .zero)
        #expect(scaler.desired == 2)
        scaler.observe(readyInstances: 1)
        #expect(!scaler.isReady)
        scaler.observe(readyInstances: 2)
        #expect(scaler.isReady)
    }

    @Test func aRevisionWithoutInitialInstancesIsReadyAtZeroAndWakesOnDemand() {
        var scaler = RevisionScaler(spec: Self.spec { $0.initialInstances = 0 }, now: .zero)
        #expect(scaler.desired == 0)
        #expect(scaler.isReady)
        // No request yet: the ticks keep it at zero (the grace is not an instance's to keep).
        let idle = scaler.tick(now: .seconds(2), readyInstances: 0)
        #expect(idle.desired == 0)
        let woke = scaler.demand(at: .seconds(1))
        #expect(woke)
        #expect(scaler.desired == 1)
        // A second poke while waking changes nothing.
        let again = scaler.demand(at: .milliseconds(1100))
        #expect(!again)
        // The grace counts from the demand: still 1 at 4 s, gone after 5 s.
        let inGrace = scaler.tick(now: .seconds(4), readyInstances: 1)
        #expect(inGrace.desired == 1)
        let afterGrace = scaler.tick(now: .seconds(6), readyInstances: 1)
        #expect(afterGrace.desired == 0)
    }

    @Test func queuedRequestsCountAsConcurrency() {
        var scaler = RevisionScaler(spec: Self.spec { $0.initialInstances = 0 }, now: .zero)
        // 40 requests waiting (or in flight) for a second: 40 / 10 per instance.
        for tenth in 0..<10 {
            scaler.record(concurrency: 40, at: .milliseconds(100 * tenth))
        }
        let decision = scaler.tick(now: .milliseconds(900), readyInstances: 0)
        #expect(decision.desired == 4)
        #expect(decision.inPanic)
    }

    @Test func neverAboveMaxInstances() {
        var scaler = RevisionScaler(
            spec: Self.spec {
                $0.initialInstances = 5
                $0.maxInstances = 2
            }, now: .zero)
        #expect(scaler.desired == 2)
        scaler.record(concurrency: 500, at: .zero)
        let decision = scaler.tick(now: .zero, readyInstances: 2)
        #expect(decision.desired == 2)
    }
}

/// A restarted server adopts the instances that kept running: the revision's scaler takes
/// them over instead of starting from its initial scale.
@Suite struct RevisionScalerAdoptionTests {
    @Test func adoptedInstancesAreKeptUntilTheKPAHasSeenALoad() {
        var scaler = RevisionScaler(spec: RevisionScalerTests.spec(), now: .seconds(100))
        #expect(scaler.desired == 1)
        scaler.adopt(instances: 4, at: .seconds(100))
        #expect(scaler.desired == 4)
        #expect(scaler.isReady)
        // A load of 35 in flight needs 4 instances at a target of 10: nothing is stopped.
        for tenth in 0...20 { scaler.record(concurrency: 35, at: .seconds(100) + .milliseconds(100 * tenth)) }
        #expect(scaler.tick(now: .seconds(102), readyInstances: 4).desired == 4)
    }

    @Test func adoptionCountsAsActivitySoTheLastInstanceWaitsForTheGrace() {
        var scaler = RevisionScaler(spec: RevisionScalerTests.spec { $0.initialInstances = 0 }, now: .zero)
        #expect(scaler.desired == 0)
        scaler.adopt(instances: 1, at: .seconds(50))
        #expect(scaler.desired == 1)
        // No traffic: the instance stays for the scale-to-zero grace (4 s) after adoption…
        #expect(scaler.tick(now: .seconds(52), readyInstances: 1).desired == 1)
        // …and goes after it.
        #expect(scaler.tick(now: .seconds(56), readyInstances: 1).desired == 0)
    }

    @Test func adoptionRespectsTheMaximumAndIgnoresNothing() {
        var scaler = RevisionScaler(spec: RevisionScalerTests.spec { $0.maxInstances = 2 }, now: .zero)
        scaler.adopt(instances: 0, at: .seconds(1))
        #expect(scaler.desired == 1)
        scaler.adopt(instances: 5, at: .seconds(1))
        #expect(scaler.desired == 2)
    }
}
