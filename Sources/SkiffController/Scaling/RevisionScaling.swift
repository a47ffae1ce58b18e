import SkiffAutoscaler
import SkiffModel

/// The scaling deciders of every active revision, by revision name: its autoscaler (how many
/// instances), its reconciler (which to start and stop, and how long the last ones stay
/// frozen at zero), and whether it was already warned of running short of memory.
///
/// A revision gets its deciders on its first reconcile pass and loses them when it stops
/// being active; what it decided before does not survive that.
struct RevisionScaling: Sendable {
    private struct Deciders: Sendable {
        var scaler: RevisionScaler
        var reconciler: RevisionReconciler
        /// Held below its desired count by memory, and warned about; cleared by the next start.
        var memoryLimited = false
    }

    /// What one reconcile pass decided for a revision.
    struct Plan: Sendable, Hashable {
        /// The autoscaler's instance count.
        var desired: Int
        /// The revision reached its initial instances, now or before.
        var ready: Bool
        var start: Int
        /// In the order to stop them.
        var stop: [String]
        /// Memory holds it below `desired`, and it was not said before.
        var warnOfMemory: Bool
    }

    private var revisions: [String: Deciders] = [:]

    /// The autoscaler of an active revision.
    func scaler(of revision: String) -> RevisionScaler? { revisions[revision]?.scaler }

    /// Active revisions, sorted.
    var names: [String] { revisions.keys.sorted() }

    /// Decides one pass for `revision`, making its deciders when it has none.
    ///
    /// - Parameters:
    ///   - instances: its instances that are not being stopped.
    ///   - fitting: how many of n new instances fit in memory.
    mutating func reconcile(
        _ revision: String, spec: ScalingSpec, instances: [RevisionReconciler.Instance<String>], now: Duration,
        underPressure: Bool, fitting: (Int) -> Int
    ) -> Plan {
        var deciders =
            revisions[revision]
            ?? Deciders(scaler: RevisionScaler(spec: spec, now: now), reconciler: RevisionReconciler(spec: spec))
        deciders.scaler.observe(readyInstances: instances.count { $0.serving })
        let actions = deciders.reconciler.reconcile(
            desired: deciders.scaler.desired, instances: instances, now: now, underPressure: underPressure,
            fitting: fitting)
        var warn = false
        if actions.limitedByMemory {
            warn = !deciders.memoryLimited
            deciders.memoryLimited = true
        } else if actions.start > 0 {
            deciders.memoryLimited = false
        }
        revisions[revision] = deciders
        return Plan(
            desired: deciders.scaler.desired, ready: deciders.scaler.isReady, start: actions.start,
            stop: actions.stop, warnOfMemory: warn)
    }

    /// Forgets every revision but `active`.
    mutating func keep(only active: Set<String>) {
        revisions = revisions.filter { active.contains($0.key) }
    }

    /// A request waits for `revision`. Returns whether its desired count rose from zero
    /// (instances should start now); false for a revision that is not active.
    mutating func demand(_ revision: String, at now: Duration) -> Bool {
        revisions[revision]?.scaler.demand(at: now) ?? false
    }

    /// Feeds one load sample of an active revision to its autoscaler.
    mutating func record(concurrency: Double, of revision: String, at now: Duration) {
        revisions[revision]?.scaler.record(concurrency: concurrency, at: now)
    }

    /// The periodic decision of an active revision: its desired count before, and the decision.
    mutating func tick(_ revision: String, now: Duration, readyInstances: Int) -> (
        before: Int, decision: Autoscaler.Decision
    )? {
        guard var deciders = revisions[revision] else { return nil }
        let before = deciders.scaler.desired
        let decision = deciders.scaler.tick(now: now, readyInstances: readyInstances)
        revisions[revision] = deciders
        return (before, decision)
    }

    /// Takes over `count` serving instances a previous server process left: the revision is
    /// at least that large and ready, and gets its deciders now if it had none.
    mutating func adopt(_ revision: String, spec: ScalingSpec, instances count: Int, at now: Duration) {
        var deciders =
            revisions[revision]
            ?? Deciders(scaler: RevisionScaler(spec: spec, now: now), reconciler: RevisionReconciler(spec: spec))
        deciders.scaler.adopt(instances: count, at: now)
        revisions[revision] = deciders
    }
}
