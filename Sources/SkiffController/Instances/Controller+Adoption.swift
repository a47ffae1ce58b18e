import Foundation
import Logging
import SkiffAutoscaler
import SkiffModel
import SkiffRuntime
import SkiffStore

extension Controller {
    /// Takes back the instances a previous server process left running, so a restart (or a
    /// crash) costs no cold start: each candidate of the ``RecoveryPlan`` is verified in
    /// parallel (its process is alive, its port accepts a connection) and goes back into the
    /// routing table with a supervisor of its own. Returns what must be stopped instead; the
    /// caller cleans that up in the background, so serving does not wait for it.
    func adoptLeftovers() async -> [String] {
        var stored: [Instance] = []
        do {
            stored = try await store.instances()
        } catch {
            logger.error("cannot read instance records: \(error)")
        }
        var leftovers: [String] = []
        do {
            leftovers = try await runtime.leftovers()
        } catch {
            logger.error("cannot list leftover containers: \(error)")
        }
        let active = Set(catalog.activeRevisions.map(\.revision))
        let plan = RecoveryPlan(stored: stored, leftovers: leftovers, activeRevisions: active)
        guard !plan.candidates.isEmpty || !plan.discard.isEmpty else { return [] }

        let ports = Dictionary(
            plan.candidates.compactMap { instance in
                catalog[instance.service]?.runnable(instance.revision).map { (instance.id, $0.revision.spec.port) }
            }, uniquingKeysWith: { first, _ in first })
        let verified = await verify(plan.candidates, ports: ports)
        var discard = plan.discard
        let now = clock.now
        var adoptedPerRevision: [String: Int] = [:]
        for candidate in plan.candidates {
            guard let started = verified[candidate.id] else {
                discard.append(candidate.id)
                continue
            }
            var instance = candidate
            instance.state = .ready
            instance.address = "\(started.address):\(started.port)"
            instance.message = nil
            supervised[instance.id] = Supervised(instance: instance)
            adoptedPerRevision[instance.revision, default: 0] += 1
            launch(adopted: started)
        }
        for (revision, count) in adoptedPerRevision {
            guard let runnable = catalog.runnable(revision) else { continue }
            scaling.adopt(revision, spec: runnable.revision.spec.scaling, instances: count, at: now)
        }
        publishRoutes()
        logger.notice(
            "recovered instances left by the previous run",
            metadata: ["adopted": "\(verified.count)", "stopping": "\(discard.count)"])
        return discard.sorted()
    }

    /// Checks every candidate at once: the runtime finds its process and address, then its
    /// port must accept a connection. Returns the instances that passed, by id.
    private nonisolated func verify(_ candidates: [Instance], ports: [String: Int]) async -> [String: StartedInstance] {
        let runtime = self.runtime
        let probe = self.probe
        let timeout = configuration.adoptionProbeTimeout
        let logger = self.logger
        return await withTaskGroup(of: StartedInstance?.self) { group in
            for candidate in candidates {
                guard let port = ports[candidate.id] else { continue }
                group.addTask {
                    do {
                        let started = try await runtime.adopt(instanceID: candidate.id, port: port)
                        guard await probe.check(host: started.address, port: started.port, timeout: timeout) else {
                            logger.warning(
                                "not adopting an instance whose port does not answer",
                                metadata: ["instance": "\(candidate.id)"])
                            return nil
                        }
                        return started
                    } catch {
                        logger.warning(
                            "not adopting instance", metadata: ["instance": "\(candidate.id)", "error": "\(error)"])
                        return nil
                    }
                }
            }
            var verified: [String: StartedInstance] = [:]
            for await started in group {
                if let started { verified[started.id] = started }
            }
            return verified
        }
    }

    /// Stops what a previous run left and should not run, all at once, and forgets its records.
    nonisolated func cleanUp(_ ids: [String]) async {
        let runtime = self.runtime
        let store = self.store
        let logger = self.logger
        await withDiscardingTaskGroup { group in
            for id in ids {
                group.addTask {
                    logger.info("cleaning up instance left by a previous run", metadata: ["instance": "\(id)"])
                    do {
                        try await runtime.stop(instanceID: id, grace: .seconds(2))
                    } catch {
                        logger.error("cannot clean up instance \(id): \(error)")
                    }
                    try? await store.deleteInstance(id: id)
                }
            }
        }
    }
}
