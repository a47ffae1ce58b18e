import Foundation
import Logging
import SkiffGateway
import SkiffModel
import SkiffStore

/// A gradual rollout in progress: its public status plus what the controller needs to
/// step it.
struct RolloutProgress: Sendable {
    var status: RolloutStatus
    /// When the next step is due, once the first one was taken.
    var nextStepAt: ContinuousClock.Instant?
    /// The new revision's response counters when it first took traffic.
    var baseline: (responses: Int, serverErrors: Int)?
}

extension Controller {
    /// Starts moving traffic from `base` (where `from` is the latest ready revision) to `to`
    /// by the policy's steps, once `to` is ready.
    func startRollout(_ name: ServiceName, from: String, to: String, base: [TrafficTarget], policy: RolloutPolicy) {
        cancelRollout(name, because: "superseded by the rollout of \(to)")
        let status = RolloutStatus(from: from, to: to, policy: policy, base: base)
        rollouts[name] = RolloutProgress(status: status)
        rolloutsToRecord.insert(name)
        recordEvent(
            service: name, revision: to, .normal, "RolloutStarted",
            "moving traffic from \(status.baseDescription) to \(to) by \(policy.step)% every \(policy.interval) once it is ready; back to \(status.baseDescription) above \(policy.maxErrorRate.formatted())% 5xx or on a probe failure")
    }

    /// Ends an active rollout where it stands (the traffic stays as it is).
    func cancelRollout(_ name: ServiceName, because reason: String) {
        guard var progress = rollouts[name], progress.status.isActive else { return }
        progress.status.state = .aborted
        progress.status.message = reason
        rollouts[name] = progress
        rolloutsToRecord.insert(name)
        recordEvent(service: name, revision: progress.status.to, .warning, "RolloutAborted", reason)
    }

    /// Takes up a rollout a previous server run left in the store: its next step comes a
    /// full interval after this start, and its answer counts continue where they were.
    func resumeRollout(_ name: ServiceName, _ status: RolloutStatus) {
        var progress = RolloutProgress(status: status)
        if status.state == .progressing { progress.nextStepAt = .now + status.policy.interval.duration }
        rollouts[name] = progress
    }

    /// Writes the rollouts that changed to the store.
    func recordRollouts() async {
        while let name = rolloutsToRecord.popFirst() {
            guard desired[name] != nil else { continue }
            do {
                try await store.setRollout(rollouts[name]?.status, of: name)
            } catch {
                logger.error("cannot record the rollout of \(name): \(error)")
            }
        }
    }

    /// Steps every active rollout: checks the new revision's errors and probes on each
    /// sample (100 ms), and moves the next step of traffic when it is due.
    func advanceRollouts(_ loads: [RevisionLoad], now: ContinuousClock.Instant) async {
        for (name, progress) in rollouts where progress.status.isActive {
            var progress = progress
            let status = progress.status
            guard let wanted = desired[name], wanted.revision.name == status.to else {
                cancelRollout(name, because: "\(status.to) is no longer the latest revision")
                continue
            }
            if let failure = wanted.revision.failure {
                cancelRollout(name, because: "\(status.to) failed (\(failure.reason.rawValue)); traffic stays on \(status.from)")
                continue
            }
            let counters = loads.first { $0.revision == status.to }.map { ($0.responses, $0.serverErrors) }
            switch status.state {
            case .waiting:
                guard latestReady[name] == status.to else { continue }
                progress.status.state = .progressing
                progress.status.percent = status.policy.step
                progress.baseline = counters ?? (0, 0)
                progress.nextStepAt = now + status.policy.interval.duration
                rollouts[name] = progress
                rolloutsToRecord.insert(name)
                await shift(name, progress.status)
            case .progressing:
                // Resumed after a restart: the gateway's counts start again from zero.
                if progress.baseline == nil, let counters {
                    progress.baseline = (counters.0 - status.responses, counters.1 - status.serverErrors)
                }
                if let counters, let baseline = progress.baseline {
                    progress.status.responses = counters.0 - baseline.responses
                    progress.status.serverErrors = counters.1 - baseline.serverErrors
                }
                rollouts[name] = progress
                if let reason = rollbackReason(progress.status) {
                    await rollBack(name, progress, because: reason)
                    continue
                }
                guard let due = progress.nextStepAt, now >= due else { continue }
                progress.status.percent = status.nextPercent
                progress.nextStepAt = due + status.policy.interval.duration
                if progress.status.percent == 100 {
                    progress.status.state = .finished
                    progress.status.message = "\(status.to) serves all traffic"
                }
                rollouts[name] = progress
                rolloutsToRecord.insert(name)
                await shift(name, progress.status)
            case .finished, .rolledBack, .aborted:
                continue
            }
        }
        await recordRollouts()
    }

    /// Why the new revision must lose its traffic, if it must: too many 5xx answers, or an
    /// instance failing its probes or restarting.
    private func rollbackReason(_ status: RolloutStatus) -> String? {
        if status.errorsExceeded {
            return "\(status.to) answered \(status.serverErrors) of \(status.responses) requests with 5xx (\(status.errorRate.formatted(.number.precision(.fractionLength(1))))%, over \(status.policy.maxErrorRate.formatted())%)"
        }
        for entry in supervisedInstances where entry.instance.revision == status.to && !entry.stopRequested {
            let instance = entry.instance
            if instance.state == .unready || instance.probes.contains(where: { !$0.passing }) {
                let probe = instance.probes.first { !$0.passing }
                return "instance \(instance.id) of \(status.to) fails its \(probe?.kind ?? "readiness") probe: \(probe?.message ?? "unready")"
            }
            if instance.restarts > 0 || instance.state == .failed {
                return "instance \(instance.id) of \(status.to) restarted: \(instance.message ?? "it exited")"
            }
        }
        return nil
    }

    private func rollBack(_ name: ServiceName, _ progress: RolloutProgress, because reason: String) async {
        var progress = progress
        progress.status.state = .rolledBack
        progress.status.percent = 0
        progress.status.message = reason
        rollouts[name] = progress
        rolloutsToRecord.insert(name)
        logger.warning("rolling back", metadata: ["service": "\(name)", "to": "\(progress.status.from)", "reason": "\(reason)"])
        recordEvent(service: name, revision: progress.status.to, .warning, "RolledBack", "traffic back to \(progress.status.baseDescription): \(reason)")
        await shift(name, progress.status)
    }

    /// Sets the traffic a rollout's state calls for; tags stay.
    private func shift(_ name: ServiceName, _ status: RolloutStatus) async {
        guard let wanted = desired[name] else { return }
        let current = wanted.row.traffic
        do {
            do {
                _ = try await setTraffic(of: name, to: status.traffic(current: current), byRollout: true)
            } catch where status.state == .rolledBack {
                // A revision of the base was deleted meanwhile: the rollback must still happen.
                logger.warning("rollback of \(name) cannot restore its traffic split, sending all to \(status.from): \(error)")
                _ = try await setTraffic(of: name, to: current.allTo(status.from), byRollout: true)
            }
            if status.state == .progressing || status.state == .finished {
                recordEvent(service: name, revision: status.to, .normal, "RolloutStep", "\(status.to) now takes \(status.percent)% of the traffic")
            }
        } catch {
            logger.error("rollout of \(name) cannot set traffic: \(error)")
            cancelRollout(name, because: "cannot set traffic: \(error)")
        }
    }
}
