import SkiffModel
import Testing

@testable import SkiffAutoscaler

/// The instance decisions the controller and `skiff simulate` share, tick by tick.
@Suite struct RevisionReconcilerTests {
    typealias Instance = RevisionReconciler.Instance<String>
    typealias Actions = RevisionReconciler.Actions<String>

    static func spec(freezeAfter: Duration = .seconds(1), retention: Duration = .seconds(60)) -> ScalingSpec {
        var spec = ScalingSpec()
        spec.freezeAfter = TimeSpan(freezeAfter)
        spec.frozenRetention = TimeSpan(retention)
        return spec
    }

    static func ready(_ id: String, load: Int = 0, started: Int) -> Instance {
        Instance(id: id, serving: true, inFlight: load, startedAt: .seconds(started))
    }

    @Test func startsTheMissingInstances() {
        var reconciler = RevisionReconciler(spec: Self.spec())
        let actions = reconciler.reconcile(desired: 3, instances: [Self.ready("a", started: 1)], now: .seconds(10))
        #expect(actions == Actions(start: 2))
        // Nothing is decided twice: the caller counts what it started on the next pass.
        let next = reconciler.reconcile(
            desired: 3,
            instances: [
                Self.ready("a", started: 1), Instance(id: "b", serving: false), Instance(id: "c", serving: false),
            ],
            now: .seconds(10))
        #expect(next == Actions())
    }

    @Test func startsOnlyWhatFitsInMemoryAndSaysSo() {
        var reconciler = RevisionReconciler(spec: Self.spec())
        let actions = reconciler.reconcile(desired: 5, instances: [Instance](), now: .zero, fitting: { min($0, 2) })
        #expect(actions == Actions(start: 2, limitedByMemory: true))
        let none = reconciler.reconcile(desired: 5, instances: [Instance](), now: .zero, fitting: { _ in 0 })
        #expect(none == Actions(start: 0, limitedByMemory: true))
    }

    @Test func stopsNotServingFirstThenIdleThenNewest() {
        var reconciler = RevisionReconciler(spec: Self.spec())
        let instances = [
            Self.ready("old-idle", started: 1), Self.ready("busy", load: 3, started: 5),
            Self.ready("new-idle", started: 9),
            Instance(id: "starting", serving: false), Self.ready("light", load: 1, started: 2),
        ]
        #expect(reconciler.reconcile(desired: 4, instances: instances, now: .seconds(20)).stop == ["starting"])
        #expect(
            reconciler.reconcile(desired: 2, instances: instances, now: .seconds(20)).stop == [
                "starting", "new-idle", "old-idle",
            ])
        #expect(
            reconciler.reconcile(desired: 1, instances: instances, now: .seconds(20)).stop
                == ["starting", "new-idle", "old-idle", "light"])
    }

    @Test func ofTwoStartedAtOnceTheLaterInTheListIsTheNewer() {
        let ranked = RevisionReconciler.ranked([Self.ready("first", started: 3), Self.ready("second", started: 3)])
        #expect(ranked.map(\.id) == ["second", "first"])
    }

    @Test func atZeroTheServingInstancesAreRetainedThenStopped() {
        var reconciler = RevisionReconciler(spec: Self.spec(retention: .seconds(60)))
        let instances = [Self.ready("a", started: 1), Self.ready("b", started: 2), Instance(id: "c", serving: false)]
        // The scaler wants none: the two serving instances stay (frozen by then), the starting one goes.
        #expect(reconciler.reconcile(desired: 0, instances: instances, now: .seconds(100)).stop == ["c"])
        #expect(reconciler.retainedUntil == .seconds(160))
        let serving = Array(instances.prefix(2))
        #expect(reconciler.reconcile(desired: 0, instances: serving, now: .seconds(159)) == Actions())
        // The deadline does not move with later passes; at it, both go.
        #expect(reconciler.retainedUntil == .seconds(160))
        #expect(reconciler.reconcile(desired: 0, instances: serving, now: .seconds(160)).stop == ["b", "a"])
        #expect(reconciler.reconcile(desired: 0, instances: [Instance](), now: .seconds(161)) == Actions())
        #expect(reconciler.retainedUntil == nil)
    }

    @Test func demandDuringTheRetentionKeepsTheInstancesAndEndsIt() {
        var reconciler = RevisionReconciler(spec: Self.spec(retention: .seconds(60)))
        let instances = [Self.ready("a", started: 1)]
        _ = reconciler.reconcile(desired: 0, instances: instances, now: .seconds(100))
        #expect(reconciler.reconcile(desired: 1, instances: instances, now: .seconds(130)) == Actions())
        #expect(reconciler.retainedUntil == nil)
        // A later scale to zero retains for a full period again.
        _ = reconciler.reconcile(desired: 0, instances: instances, now: .seconds(200))
        #expect(reconciler.retainedUntil == .seconds(260))
    }

    @Test func memoryPressureEndsTheRetentionAtOnce() {
        var reconciler = RevisionReconciler(spec: Self.spec())
        let instances = [Self.ready("a", started: 1)]
        _ = reconciler.reconcile(desired: 0, instances: instances, now: .seconds(100))
        let actions = reconciler.reconcile(desired: 0, instances: instances, now: .seconds(101), underPressure: true)
        #expect(actions.stop == ["a"])
    }

    @Test func withoutFreezingThereIsNoRetention() {
        var reconciler = RevisionReconciler(spec: Self.spec(freezeAfter: .zero))
        #expect(reconciler.retention == .zero)
        let actions = reconciler.reconcile(desired: 0, instances: [Self.ready("a", started: 1)], now: .seconds(100))
        #expect(actions.stop == ["a"])
        #expect(reconciler.retainedUntil == nil)
    }
}
