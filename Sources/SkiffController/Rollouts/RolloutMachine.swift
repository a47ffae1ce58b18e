import Foundation
import SkiffModel

/// The gradual rollout of one service, as a value: it takes what the controller observed
/// and the time, and returns what the controller must do (set traffic, record an event,
/// write the status). It never reads a clock or performs I/O, so every step and verdict can
/// be driven tick by tick.
///
/// Time is a `Duration` since a fixed origin the caller picks (the controller uses the
/// zero of its autoscalers' clock), the same convention as `SkiffAutoscaler`.
///
/// A rollout waits for its new revision to become ready, then gives it `step` percent of the
/// traffic, and `step` more every `interval`, until it serves all traffic (`latest`). It
/// rolls back to the traffic it started from when the new revision's share of 5xx answers
/// passes the policy's (once it gave ``RolloutPolicy/minimumSample`` answers) or one of its
/// instances fails a probe or restarts. It ends where it stands when the new revision fails,
/// is no longer the latest, or someone changes the traffic.
struct RolloutMachine: Sendable, Equatable {
    /// A revision's answers and 5xx answers, as the gateway counts them: from when the
    /// revision entered its routing table (so from zero after a server restart).
    struct Counters: Sendable, Hashable {
        var responses: Int
        var serverErrors: Int
    }

    /// What the controller saw of the service and its new revision at one tick.
    struct Observation: Sendable, Equatable {
        /// The service's latest revision; nil when the service is gone.
        var latestRevision: String?
        /// Why the latest revision failed, if it did.
        var latestFailure: RevisionFailure?
        /// The service's newest ready revision, if any.
        var latestReady: String?
        /// The service's traffic now (its tags are kept by every change).
        var traffic: [TrafficTarget]
        /// The new revision's counters; nil while the gateway has none for it.
        var counters: Counters?
        /// The new revision's instances, except those being stopped.
        var instances: [Instance]

        init(
            latestRevision: String?, latestFailure: RevisionFailure? = nil, latestReady: String?,
            traffic: [TrafficTarget], counters: Counters? = nil, instances: [Instance] = []
        ) {
            self.latestRevision = latestRevision
            self.latestFailure = latestFailure
            self.latestReady = latestReady
            self.traffic = traffic
            self.counters = counters
            self.instances = instances
        }
    }

    /// An event for the service's history, about the rollout's new revision.
    struct Event: Sendable, Hashable {
        var kind: ServiceEvent.Kind
        var reason: String
        var message: String
        var revision: String
    }

    /// What the controller must do, in order.
    enum Action: Sendable, Equatable {
        /// Write ``RolloutMachine/status`` to the store (the controller may batch writes:
        /// only the newest status matters).
        case persist
        case record(Event)
        /// Set the service's traffic to `traffic`; if that is refused and `fallback` is given
        /// (a rollback must happen even when its split cannot be restored), set `fallback`.
        /// The actions after this one assume it succeeded: when the traffic cannot be set,
        /// the controller drops them and performs ``RolloutMachine/trafficRejected(_:)``'s.
        case setTraffic([TrafficTarget], fallback: [TrafficTarget]?)
        /// The new revision serves all traffic; the rollout is over.
        case finished
        /// The new revision lost its traffic; `to` is the revision the rollout came from.
        case rolledBack(to: String, because: String)
    }

    /// Where the rollout stands: what the API shows and the store keeps.
    private(set) var status: RolloutStatus
    /// When the next step is due, once the first one was taken.
    private var nextStepAt: Duration?
    /// The gateway's counters for the new revision when it first took traffic; after a
    /// restart, zero minus what the stored status had counted.
    private var baseline: Counters?

    private init(status: RolloutStatus, nextStepAt: Duration? = nil, baseline: Counters? = nil) {
        self.status = status
        self.nextStepAt = nextStepAt
        self.baseline = baseline
    }

    /// Whether the rollout still waits or moves traffic.
    var isActive: Bool { status.isActive }

    /// A rollout from `from` (the latest ready revision; `base` is the service's traffic now,
    /// the new revision at 0 %) to `to`; it waits for `to` to become ready.
    static func start(
        from: String, to: String, base: [TrafficTarget], policy: RolloutPolicy, startedAt: Date
    ) -> (machine: RolloutMachine, actions: [Action]) {
        let status = RolloutStatus(from: from, to: to, policy: policy, base: base, startedAt: startedAt)
        let message =
            "moving traffic from \(status.baseDescription) to \(to) by \(policy.step)% every \(policy.interval) once it is ready; back to \(status.baseDescription) above \(policy.maxErrorRate.formatted())% 5xx or on a probe failure"
        let machine = RolloutMachine(status: status)
        return (machine, [.persist, machine.event(.normal, "RolloutStarted", message)])
    }

    /// Takes up a rollout a previous server run stored: its next step comes a full interval
    /// after `now`, and its answer counts continue where they were. The new process' gateway
    /// counts from zero, so every answer it counts adds to the stored ones, including those
    /// before the controller's first sample.
    static func resume(_ status: RolloutStatus, now: Duration) -> RolloutMachine {
        RolloutMachine(
            status: status, nextStepAt: status.state == .progressing ? now + status.policy.interval.duration : nil,
            baseline: Counters(responses: -status.responses, serverErrors: -status.serverErrors))
    }

    /// Ends an active rollout where it stands: the traffic stays as it is. Does nothing to
    /// one that is over.
    mutating func cancel(because reason: String) -> [Action] {
        guard isActive else { return [] }
        status.state = .aborted
        status.message = reason
        return [.persist, event(.warning, "RolloutAborted", reason)]
    }

    /// The controller could not set the traffic an earlier action asked for: the rollout ends
    /// where it stands.
    mutating func trafficRejected(_ error: String) -> [Action] {
        cancel(because: "cannot set traffic: \(error)")
    }

    /// Judges the new revision and takes the next step when it is due. The controller calls
    /// it on every load sample (100 ms).
    mutating func tick(now: Duration, observation: Observation) -> [Action] {
        guard isActive else { return [] }
        guard observation.latestRevision == status.to else {
            return cancel(because: "\(status.to) is no longer the latest revision")
        }
        if let failure = observation.latestFailure {
            return cancel(because: "\(status.to) failed (\(failure.reason.rawValue)); traffic stays on \(status.from)")
        }
        switch status.state {
        case .waiting:
            guard observation.latestReady == status.to else { return [] }
            status.state = .progressing
            status.percent = status.policy.step
            baseline = observation.counters ?? Counters(responses: 0, serverErrors: 0)
            nextStepAt = now + status.policy.interval.duration
            return shift(observation.traffic)
        case .progressing:
            count(observation.counters)
            if let reason = rollbackReason(observation.instances) {
                return rollBack(observation.traffic, because: reason)
            }
            guard let due = nextStepAt, now >= due else { return [] }
            status.percent = status.nextPercent
            nextStepAt = due + status.policy.interval.duration
            guard status.percent == 100 else { return shift(observation.traffic) }
            status.state = .finished
            status.message = "\(status.to) serves all traffic"
            return shift(observation.traffic) + [.finished]
        case .finished, .rolledBack, .aborted:
            return []
        }
    }

    /// Brings the status' answer counts up to the gateway's.
    private mutating func count(_ counters: Counters?) {
        guard let counters else { return }
        let baseline = baseline ?? counters
        self.baseline = baseline
        status.responses = counters.responses - baseline.responses
        status.serverErrors = counters.serverErrors - baseline.serverErrors
    }

    /// Why the new revision must lose its traffic, if it must: too many 5xx answers, or an
    /// instance failing its probes or restarting.
    private func rollbackReason(_ instances: [Instance]) -> String? {
        if status.errorsExceeded {
            let rate = status.errorRate.formatted(.number.precision(.fractionLength(1)))
            return
                "\(status.to) answered \(status.serverErrors) of \(status.responses) requests with 5xx (\(rate)%, over \(status.policy.maxErrorRate.formatted())%)"
        }
        for instance in instances where instance.revision == status.to {
            if instance.state == .unready || instance.probes.contains(where: { !$0.passing }) {
                let probe = instance.probes.first { !$0.passing }
                return
                    "instance \(instance.id) of \(status.to) fails its \(probe?.kind ?? "readiness") probe: \(probe?.message ?? "unready")"
            }
            if instance.restarts > 0 || instance.state == .failed {
                return "instance \(instance.id) of \(status.to) restarted: \(instance.message ?? "it exited")"
            }
        }
        return nil
    }

    private mutating func rollBack(_ traffic: [TrafficTarget], because reason: String) -> [Action] {
        status.state = .rolledBack
        status.percent = 0
        status.message = reason
        return [
            .persist,
            .rolledBack(to: status.from, because: reason),
            event(.warning, "RolledBack", "traffic back to \(status.baseDescription): \(reason)"),
            // A revision of the base may have been deleted meanwhile: the rollback must still happen.
            .setTraffic(status.traffic(current: traffic), fallback: traffic.allTo(status.from)),
        ]
    }

    /// Moves the traffic to the new revision's current share.
    private func shift(_ traffic: [TrafficTarget]) -> [Action] {
        [
            .persist,
            .setTraffic(status.traffic(current: traffic), fallback: nil),
            event(.normal, "RolloutStep", "\(status.to) now takes \(status.percent)% of the traffic"),
        ]
    }

    private func event(_ kind: ServiceEvent.Kind, _ reason: String, _ message: String) -> Action {
        .record(Event(kind: kind, reason: reason, message: message, revision: status.to))
    }
}
