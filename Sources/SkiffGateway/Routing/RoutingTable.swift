import NIOConcurrencyHelpers
import Synchronization

/// Which backends serve which routing key; written by the control plane, read by every request.
///
/// Writers take a lock and publish a new immutable snapshot plus a generation number. Readers
/// (the proxy, once per request) load the generation atomically and only take the lock when it
/// changed, so the hot path costs one relaxed atomic load and a dictionary lookup.
///
/// A backend that leaves the table gets no new requests; requests already sent to it finish,
/// and ``inFlight(backendID:)`` keeps counting them so the controller can wait for the drain.
public final class RoutingTable: Sendable {
    struct Snapshot: Sendable {
        var generation: Int
        var routes: [String: ServiceRoute]
    }

    private struct State {
        var routes: [String: ServiceRoute] = [:]
        /// Slots referenced by at least one route, by backend ID.
        var live: [String: BackendSlot] = [:]
        /// Slots that left every route; kept while requests may still be running on them.
        var draining: [ObjectIdentifier: DrainingSlot] = [:]
        var generation = 0
    }

    private struct DrainingSlot {
        var slot: BackendSlot
        var keys: Set<String>
    }

    private let state = NIOLockedValueBox(State())
    private let publishedGeneration = Atomic<Int>(0)

    public init() {}

    /// Replaces the ready backends of `service` (a service name or a `TAG---NAME` key).
    ///
    /// An empty list keeps the service known, so its requests get 503 rather than 404.
    public func setBackends(_ backends: [Backend], for service: String) {
        let key = service.lowercased()
        self.state.withLockedValue { state in
            var slots: [BackendSlot] = []
            slots.reserveCapacity(backends.count)
            var seen: Set<String> = []
            for backend in backends where seen.insert(backend.id).inserted {
                if let slot = state.live[backend.id], slot.backend == backend {
                    slots.append(slot)
                } else if let revived = Self.takeDraining(backend, from: &state) {
                    slots.append(revived)
                } else {
                    slots.append(BackendSlot(backend: backend))
                }
            }
            let previous = state.routes[key]?.slots ?? []
            state.routes[key] = ServiceRoute(key: key, slots: slots)
            Self.retireUnreferenced(previous, removedFrom: key, in: &state)
            for slot in slots { state.live[slot.backend.id] = slot }
            self.publish(&state)
        }
    }

    /// Forgets `service`: its requests get 404 from now on; running ones finish.
    public func removeService(_ service: String) {
        let key = service.lowercased()
        self.state.withLockedValue { state in
            guard let previous = state.routes.removeValue(forKey: key) else { return }
            Self.retireUnreferenced(previous.slots, removedFrom: key, in: &state)
            self.publish(&state)
        }
    }

    /// The backends currently routed for `service`, or `nil` if the service is unknown.
    public func backends(for service: String) -> [Backend]? {
        let key = service.lowercased()
        return self.state.withLockedValue { $0.routes[key]?.slots.map(\.backend) }
    }

    /// Requests sent to the backend with this ID that have not finished, including requests
    /// on a backend already removed from the table.
    public func inFlight(backendID: String) -> Int {
        self.state.withLockedValue { state in
            Self.pruneDrained(&state)
            var total = state.live[backendID]?.currentLoad ?? 0
            for entry in state.draining.values where entry.slot.backend.id == backendID {
                total += entry.slot.currentLoad
            }
            return total
        }
    }

    /// Requests in flight on the backends of `service` (current ones and ones removed from it
    /// that are still draining): the concurrency the autoscaler samples.
    public func inFlight(service: String) -> Int {
        let key = service.lowercased()
        return self.state.withLockedValue { state in
            Self.pruneDrained(&state)
            var total = 0
            for slot in state.routes[key]?.slots ?? [] {
                total += slot.currentLoad
            }
            for entry in state.draining.values where entry.keys.contains(key) {
                total += entry.slot.currentLoad
            }
            return total
        }
    }

    // MARK: Data-plane access

    /// The generation of the newest snapshot; cheap enough to read on every request.
    var generation: Int {
        self.publishedGeneration.load(ordering: .acquiring)
    }

    func snapshot() -> Snapshot {
        self.state.withLockedValue { Snapshot(generation: $0.generation, routes: $0.routes) }
    }

    // MARK: Private

    private func publish(_ state: inout State) {
        state.generation += 1
        self.publishedGeneration.store(state.generation, ordering: .releasing)
    }

    private static func takeDraining(_ backend: Backend, from state: inout State) -> BackendSlot? {
        guard let (id, entry) = state.draining.first(where: { $0.value.slot.backend == backend }) else {
            return nil
        }
        state.draining.removeValue(forKey: id)
        entry.slot.retired.store(false, ordering: .relaxed)
        return entry.slot
    }

    private static func retireUnreferenced(_ candidates: [BackendSlot], removedFrom key: String, in state: inout State) {
        guard !candidates.isEmpty else { return }
        var referenced: Set<ObjectIdentifier> = []
        for route in state.routes.values {
            for slot in route.slots { referenced.insert(ObjectIdentifier(slot)) }
        }
        for slot in candidates where !referenced.contains(ObjectIdentifier(slot)) {
            if state.live[slot.backend.id] === slot {
                state.live.removeValue(forKey: slot.backend.id)
            }
            slot.retired.store(true, ordering: .relaxed)
            let id = ObjectIdentifier(slot)
            state.draining[id, default: DrainingSlot(slot: slot, keys: [])].keys.insert(key)
        }
    }

    private static func pruneDrained(_ state: inout State) {
        guard !state.draining.isEmpty else { return }
        state.draining = state.draining.filter { $0.value.slot.currentLoad > 0 }
    }
}
