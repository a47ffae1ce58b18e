import Foundation
import Logging
import SkiffGateway
import SkiffModel
import SkiffStore

extension Controller {
    /// Starts moving traffic from `base` (where `from` is the latest ready revision) to `to`
    /// by the policy's steps, once `to` is ready.
    func startRollout(_ name: ServiceName, from: String, to: String, base: [TrafficTarget], policy: RolloutPolicy) {
        cancelRollout(name, because: "superseded by the rollout of \(to)")
        let (machine, actions) = RolloutMachine.start(from: from, to: to, base: base, policy: policy, startedAt: Date())
        rollouts[name] = machine
        performNow(actions, of: name)
    }

    /// Ends an active rollout where it stands (the traffic stays as it is).
    func cancelRollout(_ name: ServiceName, because reason: String) {
        guard let actions = rollouts[name]?.cancel(because: reason) else { return }
        performNow(actions, of: name)
    }

    /// Takes up a rollout a previous server run left in the store: its next step comes a
    /// full interval after this start, and its answer counts continue where they were.
    func resumeRollout(_ name: ServiceName, _ status: RolloutStatus) {
        rollouts[name] = RolloutMachine.resume(status, now: clock.now)
    }

    /// Writes the rollouts that changed to the store.
    func recordRollouts() async {
        while let name = rollouts.takeChanged() {
            guard catalog[name] != nil else { continue }
            do {
                try await store.setRollout(rollouts[name]?.status, of: name)
            } catch {
                logger.error("cannot record the rollout of \(name): \(error)")
            }
        }
    }

    /// Steps every active rollout: its machine judges the new revision's errors and probes on
    /// each sample (100 ms), and moves the next step of traffic when it is due.
    func advanceRollouts(_ loads: [RevisionLoad], now: Duration) async {
        for name in rollouts.names {
            // Read afresh: performing an earlier service's actions awaited, and a deploy may
            // have started another rollout meanwhile.
            guard var machine = rollouts[name], machine.isActive else { continue }
            let observation = rolloutObservation(of: name, machine.status, loads)
            let actions = machine.tick(now: now, observation: observation)
            rollouts[name] = machine
            await perform(actions, of: name)
        }
        await recordRollouts()
    }

    /// What a rollout's machine judges: the service's latest and newest ready revisions, its
    /// traffic, and the new revision's answers and instances.
    private func rolloutObservation(
        of name: ServiceName, _ status: RolloutStatus, _ loads: [RevisionLoad]
    ) -> RolloutMachine.Observation {
        let wanted = catalog[name]
        let load = loads.first { $0.revision == status.to }
        let instances = supervisedInstances.filter { $0.instance.revision == status.to && !$0.stopRequested }
        return RolloutMachine.Observation(
            latestRevision: wanted?.revision.name, latestFailure: wanted?.revision.failure,
            latestReady: catalog.latestReady[name], traffic: wanted?.row.traffic ?? [],
            counters: load.map { RolloutMachine.Counters(responses: $0.responses, serverErrors: $0.serverErrors) },
            instances: instances.map(\.instance).sorted { $0.id < $1.id })
    }

    /// Performs a machine's actions that need no waiting (it asks for no traffic change).
    private func performNow(_ actions: [RolloutMachine.Action], of name: ServiceName) {
        for action in actions {
            switch action {
            case .persist: rollouts.noteChanged(name)
            case .record(let event):
                recordEvent(service: name, revision: event.revision, event.kind, event.reason, event.message)
            case .finished: logger.info("rollout finished", metadata: ["service": "\(name)"])
            case .rolledBack(let to, let reason):
                logger.warning("rolling back", metadata: ["service": "\(name)", "to": "\(to)", "reason": "\(reason)"])
            case .setTraffic:
                logger.error("rollout of \(name) asked for a traffic change outside a tick")
            }
        }
    }

    /// Performs a machine's actions in order. When the traffic cannot be set, the actions
    /// after it are dropped and the machine says what to do instead.
    private func perform(_ actions: [RolloutMachine.Action], of name: ServiceName) async {
        for action in actions {
            guard case .setTraffic(let traffic, let fallback) = action else {
                performNow([action], of: name)
                continue
            }
            guard catalog[name] != nil else { return }
            do {
                _ = try await setTraffic(of: name, to: traffic, byRollout: true)
            } catch {
                guard let fallback else {
                    trafficRejected(name, error)
                    return
                }
                logger.warning(
                    "rollback of \(name) cannot restore its traffic split, sending \(Self.describe(fallback)): \(error)"
                )
                do {
                    _ = try await setTraffic(of: name, to: fallback, byRollout: true)
                } catch {
                    trafficRejected(name, error)
                    return
                }
            }
        }
    }

    private func trafficRejected(_ name: ServiceName, _ error: ControllerError) {
        logger.error("rollout of \(name) cannot set traffic: \(error)")
        if let actions = rollouts[name]?.trafficRejected("\(error)") { performNow(actions, of: name) }
    }
}
