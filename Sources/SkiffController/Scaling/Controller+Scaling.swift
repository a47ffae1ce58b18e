import Logging
import SkiffAutoscaler
import SkiffGateway
import SkiffModel
import SkiffRuntime

/// What the scaling loop remembers between samples.
struct SamplingState {
    /// Per instance: its served count when it was last seen busy, and since when it is idle.
    var idle: [String: (served: Int, since: Duration)] = [:]
    var lastTick: Duration?
}

extension Controller {
    /// Samples the gateway's load every 100 ms into each revision's autoscaler, freezes idle
    /// instances, and takes the scaling decisions every 2 s.
    nonisolated func scalingLoop() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: RevisionScaler.sampleInterval)
            await sampleOnce()
        }
    }

    /// Wakes a revision the moment the activator queues a request for it.
    nonisolated func demandLoop() async {
        for await revision in demands {
            await noteDemand(revision)
        }
    }

    func noteDemand(_ revision: String) {
        if scaling.demand(revision, at: clock.now) {
            logger.info("waking from zero", metadata: ["revision": "\(revision)"])
            reconcile()
        }
    }

    func sampleOnce() async {
        let now = clock.now
        let loads = routing.sample()
        for load in loads {
            scaling.record(concurrency: Double(load.concurrency), of: load.revision, at: now)
        }
        await freezeIdleInstances(loads, now: now)
        await advanceRollouts(loads, now: now)

        var changed = false
        if sampling.lastTick.map({ now - $0 >= RevisionScaler.tickInterval }) ?? true {
            sampling.lastTick = now
            for revision in scaling.names {
                guard
                    let (before, decision) = scaling.tick(
                        revision, now: now, readyInstances: servingInstances(of: revision))
                else { continue }
                if decision.desired != before {
                    changed = true
                    logger.info(
                        "scaling",
                        metadata: [
                            "revision": "\(revision)", "from": "\(before)", "to": "\(decision.desired)",
                            "stable": "\(decision.stableConcurrency)", "panic": "\(decision.panicConcurrency)",
                            "inPanic": "\(decision.inPanic)",
                        ])
                }
            }
        }
        // Retention deadlines and memory pressure are checked by the resync pass.
        if changed { reconcile() }
    }

    /// Ready and frozen instances of `revision` that are not being stopped.
    func servingInstances(of revision: String) -> Int {
        supervisedInstances.filter {
            $0.instance.revision == revision && $0.instance.state.isServing && !$0.stopRequested
        }
        .count
    }

    /// Freezes instances of latest revisions that had nothing in flight for their
    /// `freezeAfter`, and notices instances the gateway thawed.
    private func freezeIdleInstances(_ loads: [RevisionLoad], now: Duration) async {
        var seen = Set<String>()
        for load in loads {
            let freezeAfter = freezeAfter(of: load.revision)
            for instance in load.instances where !instance.draining {
                let id = instance.backendID
                seen.insert(id)
                guard let entry = entry(id), !entry.stopRequested else { continue }
                if entry.instance.state == .frozen, !instance.frozen {
                    await update(id) { $0.state = .ready }
                }
                let busy = instance.inFlight > 0 || sampling.idle[id]?.served != instance.served
                if busy || sampling.idle[id] == nil {
                    sampling.idle[id] = (instance.served, now)
                    continue
                }
                guard let freezeAfter, entry.instance.state == .ready, let since = sampling.idle[id]?.since,
                    now - since >= freezeAfter
                else { continue }
                do {
                    let runtime = self.runtime
                    if try routing.freeze(backendID: id, using: { try runtime.freezeNow(instanceID: id) }) {
                        await update(id) { $0.state = .frozen }
                    }
                } catch {
                    logger.warning("cannot freeze instance", metadata: ["instance": "\(id)", "error": "\(error)"])
                    // Do not try again every sample.
                    sampling.idle[id] = (instance.served, now + .seconds(60))
                }
            }
        }
        sampling.idle = sampling.idle.filter { seen.contains($0.key) }
    }
}

/// A revision's autoscaling state, as `/metrics` shows it.
public struct RevisionScalingStatus: Sendable, Hashable {
    public var service: String
    public var revision: String
    public var desired: Int
    public var ready: Int
    public var frozen: Int
    public var starting: Int
    public var stableConcurrency: Double
    public var panicConcurrency: Double
    public var inPanic: Bool
    /// Requests waiting in the activator's queue.
    public var queued: Int
}

extension Controller {
    /// The autoscaler's view of every active revision, for metrics.
    public func scalingStatus() -> [RevisionScalingStatus] {
        let queued = Dictionary(routing.sample().map { ($0.revision, $0.queued) }, uniquingKeysWith: +)
        return catalog.activeRevisions.compactMap { service, revision -> RevisionScalingStatus? in
            guard let scaler = scaling.scaler(of: revision) else { return nil }
            let instances = supervisedInstances.filter { $0.instance.revision == revision && !$0.stopRequested }
            let decision = scaler.lastDecision
            return RevisionScalingStatus(
                service: service, revision: revision, desired: scaler.desired,
                ready: instances.filter { $0.instance.state == .ready }.count,
                frozen: instances.filter { $0.instance.state == .frozen }.count,
                starting: instances.filter { $0.instance.state == .starting }.count,
                stableConcurrency: decision?.stableConcurrency ?? 0, panicConcurrency: decision?.panicConcurrency ?? 0,
                inPanic: decision?.inPanic ?? false, queued: queued[revision] ?? 0)
        }.sorted { $0.revision < $1.revision }
    }
}
