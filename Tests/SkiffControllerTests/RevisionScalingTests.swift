import SkiffAutoscaler
import SkiffModel
import Testing

@testable import SkiffController

/// The per-revision deciders the controller keeps: a revision gets them on its first pass,
/// says when it is ready, warns of memory once, and loses them when it stops being active.
@Suite struct RevisionScalingTests {
    static let spec = ScalingSpec()

    static func serving(_ ids: String...) -> [RevisionReconciler.Instance<String>] {
        ids.map { RevisionReconciler.Instance(id: $0, serving: true) }
    }

    @Test func aNewRevisionStartsItsInitialInstancesAndIsReadyOnceTheyServe() {
        var scaling = RevisionScaling()
        let first = scaling.reconcile(
            "web-00001", spec: Self.spec, instances: [], now: .zero, underPressure: false, fitting: { $0 })
        #expect(first.start == ScalingSpec.defaultInitialInstances)
        #expect(!first.ready)
        #expect(scaling.names == ["web-00001"])
        let second = scaling.reconcile(
            "web-00001", spec: Self.spec, instances: Self.serving("a"), now: .seconds(1), underPressure: false,
            fitting: { $0 })
        #expect(second.ready)
        #expect(second.start == 0 && second.stop.isEmpty)
    }

    @Test func memoryShortageIsWarnedOfOnceUntilAnInstanceStartsAgain() {
        var scaling = RevisionScaling()
        var spec = Self.spec
        spec.initialInstances = 3
        let pass = { (scaling: inout RevisionScaling, fitting: Int) in
            scaling.reconcile(
                "web-00001", spec: spec, instances: [], now: .zero, underPressure: false, fitting: { min($0, fitting) })
        }
        #expect(pass(&scaling, 0).warnOfMemory)
        #expect(!pass(&scaling, 0).warnOfMemory, "said once")
        let recovered = pass(&scaling, 3)
        #expect(!recovered.warnOfMemory && recovered.start == 3)
        #expect(pass(&scaling, 0).warnOfMemory, "short again after a start")
    }

    @Test func aRevisionNoLongerActiveLosesItsDeciders() {
        var scaling = RevisionScaling()
        for revision in ["web-00001", "web-00002"] {
            _ = scaling.reconcile(
                revision, spec: Self.spec, instances: [], now: .zero, underPressure: false, fitting: { $0 })
        }
        scaling.keep(only: ["web-00002"])
        #expect(scaling.names == ["web-00002"])
        #expect(scaling.scaler(of: "web-00001") == nil)
        #expect(scaling.tick("web-00001", now: .seconds(2), readyInstances: 0) == nil)
        let woken = scaling.demand("web-00001", at: .seconds(2))
        #expect(!woken, "an inactive revision is not woken")
    }

    @Test func demandWakesARevisionAtZero() {
        var scaling = RevisionScaling()
        var spec = Self.spec
        spec.initialInstances = 0
        _ = scaling.reconcile("web-00001", spec: spec, instances: [], now: .zero, underPressure: false, fitting: { $0 })
        #expect(scaling.scaler(of: "web-00001")?.desired == 0)
        let rose = scaling.demand("web-00001", at: .seconds(1))
        #expect(rose)
        #expect(scaling.scaler(of: "web-00001")?.desired == 1)
        let plan = scaling.reconcile(
            "web-00001", spec: spec, instances: [], now: .seconds(1), underPressure: false, fitting: { $0 })
        #expect(plan.start == 1)
    }

    @Test func adoptedInstancesMakeARevisionReadyAtLeastThatLarge() {
        var scaling = RevisionScaling()
        scaling.adopt("web-00001", spec: Self.spec, instances: 3, at: .zero)
        let plan = scaling.reconcile(
            "web-00001", spec: Self.spec, instances: Self.serving("a", "b", "c"), now: .seconds(1),
            underPressure: false, fitting: { $0 })
        #expect(plan.ready)
        #expect(plan.desired == 3)
        #expect(plan.stop.isEmpty)
        let tick = scaling.tick("web-00001", now: .seconds(2), readyInstances: 3)
        #expect(tick?.before == 3)
    }
}
