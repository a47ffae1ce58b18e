import NIOConcurrencyHelpers
import Synchronization

/// Which revisions each routing key serves, in what shares, and which ready instances each
/// revision has; written by the control plane, read by every request.
///
/// Writers take a lock and publish a new immutable snapshot plus a generation number. Readers
/// (the proxy, once per request) load the generation atomically and only take the lock when it
/// changed, so the hot path costs one relaxed atomic load and a dictionary lookup.
///
/// A backend that leaves the table gets no new requests; requests already sent to it finish,
/// and ``inFlight(backendID:)`` keeps counting them so the controller can wait for the drain.
/// A revision with no capacity holds requests in its queue (the activator) and reports the
/// demand through `onDemand` at once.
public final class RoutingTable: Sendable {
    struct Snapshot: Sendable {
        var generation: Int
        var routes: [String: ServiceRoute]
    }

    private struct RevisionEntry {
        var route: RevisionRoute
        var slots: [BackendSlot]
    }

    private struct State {
        /// The published routes, rebuilt from `traffic` and `revisions` on every change.
        var routes: [String: ServiceRoute] = [:]
        /// Routing key → revisions and their weights, in a stable order.
        var traffic: [String: [TrafficWeight]] = [:]
        var revisions: [String: RevisionEntry] = [:]
        /// Response counts per revision name, kept across its route objects.
        var counters: [String: ResponseCounters] = [:]
        /// Slots referenced by at least one revision, by backend ID.
        var live: [String: BackendSlot] = [:]
        /// Slots that left every revision; kept while requests may still be running on them.
        var draining: [ObjectIdentifier: BackendSlot] = [:]
        var generation = 0
    }

    private let state = NIOLockedValueBox(State())
    private let publishedGeneration = Atomic<Int>(0)
    private let onDemand: (@Sendable (String) -> Void)?
    /// Resumes a frozen instance, by backend ID; called on the request path, so it must be quick.
    let thaw: (@Sendable (String) -> Void)?

    /// - Parameters:
    ///   - onDemand: called with a revision's name when a request has to wait for capacity
    ///     (the activator's poke); must not block.
    ///   - thaw: resumes a frozen instance (see ``freeze(backendID:using:)``); must be quick.
    public init(onDemand: (@Sendable (String) -> Void)? = nil, thaw: (@Sendable (String) -> Void)? = nil) {
        self.onDemand = onDemand
        self.thaw = thaw
    }

    // MARK: Revisions and traffic

    /// Creates or updates a revision: its settings and its ready instances. Requests queued
    /// for it are handed to the new instances at once.
    public func setRevision(_ name: String, settings: RevisionSettings, backends: [Backend]) {
        self.state.withLockedValue { state in
            var entry: RevisionEntry
            if let existing = state.revisions[name], existing.route.settings == settings {
                entry = existing
            } else {
                if let existing = state.revisions[name] { existing.route.activator.remove() }
                let counters = state.counters[name] ?? ResponseCounters()
                state.counters[name] = counters
                entry = RevisionEntry(
                    route: RevisionRoute(name: name, settings: settings, counters: counters, onDemand: self.onDemand),
                    slots: [])
            }
            var slots: [BackendSlot] = []
            slots.reserveCapacity(backends.count)
            var seen: Set<String> = []
            for backend in backends where seen.insert(backend.id).inserted {
                if let slot = state.live[backend.id], slot.backend == backend, slot.revision === entry.route {
                    slots.append(slot)
                } else if let revived = Self.takeDraining(backend, of: entry.route, from: &state) {
                    slots.append(revived)
                } else {
                    slots.append(BackendSlot(backend: backend, revision: entry.route))
                }
            }
            let previous = entry.slots
            entry.slots = slots
            state.revisions[name] = entry
            for slot in slots { state.live[slot.backend.id] = slot }
            Self.retireUnreferenced(previous, in: &state)
            self.rebuildRoutes(&state)
            // Under the table's lock, so that two updates cannot reach the revision out of order.
            entry.route.activator.setSlots(slots)
        }
    }

    /// Replaces every routing key of `service` (`NAME` and each `TAG---NAME`) at once: one
    /// table generation, so no request sees half of a traffic change. Keys not in `routes`
    /// answer 404 from now on.
    public func setTraffic(service: String, routes: [String: [TrafficWeight]]) {
        let service = service.lowercased()
        let routes = Dictionary(routes.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        self.state.withLockedValue { state in
            var traffic = state.traffic.filter { !Self.key($0.key, belongsTo: service) }
            traffic.merge(routes) { $1 }
            guard traffic != state.traffic else { return }
            state.traffic = traffic
            self.rebuildRoutes(&state)
        }
    }

    static func key(_ key: String, belongsTo service: String) -> Bool {
        key == service || (key.hasSuffix(service) && key.dropLast(service.count).hasSuffix("---"))
    }

    /// Forgets a revision: its instances get no new requests (running ones finish), and its
    /// queued requests are routed again.
    public func removeRevision(_ name: String) {
        let removed = self.state.withLockedValue { state -> RevisionRoute? in
            guard let entry = state.revisions.removeValue(forKey: name) else { return nil }
            state.counters[name] = nil
            Self.retireUnreferenced(entry.slots, in: &state)
            self.rebuildRoutes(&state)
            return entry.route
        }
        removed?.activator.remove()
    }

    // MARK: Reading

    /// Requests sent to the backend with this ID that have not finished, including requests
    /// on a backend already removed from the table.
    public func inFlight(backendID: String) -> Int {
        self.state.withLockedValue { state in
            Self.pruneDrained(&state)
            var total = state.live[backendID]?.currentLoad ?? 0
            for slot in state.draining.values where slot.backend.id == backendID {
                total += slot.currentLoad
            }
            return total
        }
    }

    /// The load of every revision and of each of its instances, right now: what the
    /// autoscaler samples and the freezer watches.
    public func sample() -> [RevisionLoad] {
        self.state.withLockedValue { state in
            Self.pruneDrained(&state)
            var loads: [String: RevisionLoad] = [:]
            for (name, entry) in state.revisions {
                loads[name] = RevisionLoad(
                    revision: name, queued: entry.route.activator.queued,
                    instances: entry.slots.map { InstanceLoad($0, draining: false) },
                    responses: entry.route.counters.responses.load(ordering: .relaxed),
                    serverErrors: entry.route.counters.serverErrors.load(ordering: .relaxed))
            }
            for slot in state.draining.values {
                loads[slot.revision.name, default: RevisionLoad(revision: slot.revision.name, queued: 0, instances: [])]
                    .instances.append(InstanceLoad(slot, draining: true))
            }
            return Array(loads.values)
        }
    }

    // MARK: Freezing

    /// Freezes a routed backend with `freeze` if no request is in flight on it; the first
    /// request to pick it then calls `thaw` (given at init) before forwarding. Returns
    /// whether it froze.
    public func freeze(backendID: String, using freeze: () throws -> Void) rethrows -> Bool {
        guard let slot = self.state.withLockedValue({ $0.live[backendID] }), !slot.isRetired else { return false }
        return try slot.freezeIfIdle(freeze)
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

    private func rebuildRoutes(_ state: inout State) {
        var routes: [String: ServiceRoute] = [:]
        for (key, weights) in state.traffic {
            // A revision not (yet) in the table gets no share; a key with none is unknown.
            let targets = weights.compactMap { weight -> (route: RevisionRoute, slots: [BackendSlot], weight: Int)? in
                guard weight.weight > 0, let entry = state.revisions[weight.revision] else { return nil }
                return (entry.route, entry.slots, weight.weight)
            }
            guard !targets.isEmpty else { continue }
            if let current = state.routes[key], current.matches(targets) {
                routes[key] = current
                continue
            }
            var cumulative = 0
            routes[key] = ServiceRoute(
                key: key,
                targets: targets.map { target in
                    cumulative += target.weight
                    return RevisionTarget(revision: target.route, slots: target.slots, cumulativeWeight: cumulative)
                })
        }
        // Keys that stopped routing to a revision: its requests queued by them must move.
        var abandoned: [ObjectIdentifier: (revision: RevisionRoute, keys: Set<String>)] = [:]
        for (key, route) in state.routes {
            for target in route.targets
            where !(routes[key]?.targets.contains { $0.revision === target.revision } ?? false) {
                abandoned[ObjectIdentifier(target.revision), default: (target.revision, [])].keys.insert(key)
            }
        }
        state.routes = routes
        state.generation += 1
        self.publishedGeneration.store(state.generation, ordering: .releasing)
        // After the new generation is visible, so the requests find the new split.
        for (revision, keys) in abandoned.values { revision.activator.reroute(keys: keys) }
    }

    private static func takeDraining(_ backend: Backend, of revision: RevisionRoute, from state: inout State)
        -> BackendSlot?
    {
        guard
            let (id, slot) = state.draining.first(where: {
                $0.value.backend == backend && $0.value.revision === revision
            })
        else {
            return nil
        }
        state.draining.removeValue(forKey: id)
        slot.retired.store(false, ordering: .relaxed)
        return slot
    }

    private static func retireUnreferenced(_ candidates: [BackendSlot], in state: inout State) {
        guard !candidates.isEmpty else { return }
        var referenced: Set<ObjectIdentifier> = []
        for entry in state.revisions.values {
            for slot in entry.slots { referenced.insert(ObjectIdentifier(slot)) }
        }
        for slot in candidates where !referenced.contains(ObjectIdentifier(slot)) {
            if state.live[slot.backend.id] === slot {
                state.live.removeValue(forKey: slot.backend.id)
            }
            slot.retired.store(true, ordering: .relaxed)
            state.draining[ObjectIdentifier(slot)] = slot
        }
    }

    private static func pruneDrained(_ state: inout State) {
        guard !state.draining.isEmpty else { return }
        state.draining = state.draining.filter { $0.value.currentLoad > 0 }
    }
}

/// A revision's load at one instant.
public struct RevisionLoad: Sendable, Hashable {
    public var revision: String
    /// Requests waiting in the activator's queue.
    public var queued: Int
    public var instances: [InstanceLoad]
    /// Answers it gave since it entered the table, and how many of them were 5xx (the
    /// gateway's own 502/503/504 for it included).
    public var responses: Int = 0
    public var serverErrors: Int = 0

    /// In flight on its instances plus queued: the concurrency the autoscaler averages.
    public var concurrency: Int { queued + instances.reduce(0) { $0 + $1.inFlight } }
}

/// One instance's load at one instant.
public struct InstanceLoad: Sendable, Hashable {
    public var backendID: String
    public var inFlight: Int
    /// Requests it finished, ever; unchanged between two samples means it was idle.
    public var served: Int
    public var frozen: Bool
    /// Removed from routing, finishing its requests.
    public var draining: Bool

    init(_ slot: BackendSlot, draining: Bool) {
        self.backendID = slot.backend.id
        self.inFlight = slot.currentLoad
        self.served = slot.served.load(ordering: .relaxed)
        self.frozen = slot.isFrozen
        self.draining = draining
    }
}

/// One revision's share of a routing key's requests.
public struct TrafficWeight: Sendable, Hashable {
    public var revision: String
    /// Relative weight (a percentage, for traffic splits); 0 gets nothing.
    public var weight: Int

    public init(revision: String, weight: Int) {
        self.revision = revision
        self.weight = weight
    }
}
