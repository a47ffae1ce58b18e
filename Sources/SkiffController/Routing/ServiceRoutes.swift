import SkiffGateway
import SkiffModel

/// What the gateway routes for one service, as a value: every revision it knows (with the
/// settings it routes with and its serving instances) and the service's routing keys.
///
/// The controller computes the value it wants from its state after every change and applies
/// only the difference from the one it published last (``changes(service:from:to:)``), so
/// the routing table moves in few, whole steps and a pass that changed nothing costs nothing.
struct ServiceRoutes: Sendable, Equatable {
    struct RevisionRoutes: Sendable, Equatable {
        var settings: RevisionSettings
        /// Serving instances, by id.
        var backends: [Backend]
        /// Named by the traffic but failed, with nothing to route to: refused at once (503)
        /// rather than queued for instances that never come.
        var failed = false
    }

    /// Revision name → its routes.
    var revisions: [String: RevisionRoutes] = [:]
    /// Routing key (`NAME`, `TAG---NAME`) → revisions and weights.
    var traffic: [String: [TrafficWeight]] = [:]

    /// One instance of the service as routing sees it.
    struct Instance: Sendable, Equatable {
        var revision: String
        /// Where to reach it when it takes requests (ready or frozen, not being stopped).
        var backend: Backend?
    }

    /// The routes of a service.
    ///
    /// - Parameters:
    ///   - active: revisions that run (the latest, and those with traffic or a tag), with
    ///     their specs: routed even at zero instances, so their requests queue and wake them.
    ///   - traffic: where the service's requests go.
    ///   - instances: every instance of the service, serving or not: a revision that still
    ///     has instances stays known until they are gone.
    ///   - previous: what was published before; a revision that is no longer active keeps
    ///     the settings it was routed with.
    init(
        service: ServiceName, active: [(name: String, spec: ServiceSpec)], traffic: [ResolvedTarget],
        instances: [Instance], previous: ServiceRoutes
    ) {
        for revision in active {
            revisions[revision.name] = RevisionRoutes(settings: Self.settings(revision.spec), backends: [])
        }
        for target in traffic where revisions[target.revision] == nil {
            var settings = Self.settings(nil)
            settings.queueDepth = 0
            revisions[target.revision] = RevisionRoutes(settings: settings, backends: [], failed: true)
        }
        for instance in instances {
            if revisions[instance.revision] == nil {
                revisions[instance.revision] = RevisionRoutes(
                    settings: previous.revisions[instance.revision]?.settings ?? Self.settings(nil), backends: [])
            }
            if let backend = instance.backend { revisions[instance.revision]?.backends.append(backend) }
        }
        for name in revisions.keys { revisions[name]?.backends.sort { $0.id < $1.id } }
        self.traffic = Self.routingKeys(service, traffic)
    }

    init() {}

    /// The routing-table changes that turn `before` into `after`, in the order to apply them:
    /// revisions first (so a key never names one the table lacks), then the keys in one
    /// step, then the revisions nothing routes to any more. A failed revision is set again
    /// whenever the service changes, so it never keeps a queue.
    static func changes(service: String, from before: ServiceRoutes, to after: ServiceRoutes) -> [RoutingChange] {
        guard before != after else { return [] }
        var changes: [RoutingChange] = []
        for name in after.revisions.keys.sorted() {
            guard let routes = after.revisions[name], before.revisions[name] != routes || routes.failed else {
                continue
            }
            changes.append(.setRevision(name, routes.settings, routes.backends))
        }
        if after.traffic != before.traffic {
            changes.append(.setTraffic(service: service, routes: after.traffic))
        }
        for name in before.revisions.keys.sorted() where after.revisions[name] == nil {
            changes.append(.removeRevision(name))
        }
        return changes
    }

    /// The gateway's keys for a service's traffic: `NAME` split by percent, and each tag's
    /// `TAG---NAME` to its revision alone.
    static func routingKeys(_ name: ServiceName, _ traffic: [ResolvedTarget]) -> [String: [TrafficWeight]] {
        var shares: [TrafficWeight] = []
        var keys: [String: [TrafficWeight]] = [:]
        for target in traffic {
            if target.percent > 0 {
                if let index = shares.firstIndex(where: { $0.revision == target.revision }) {
                    shares[index].weight += target.percent
                } else {
                    shares.append(TrafficWeight(revision: target.revision, weight: target.percent))
                }
            }
            if let tag = target.tag {
                keys["\(tag)---\(name)"] = [TrafficWeight(revision: target.revision, weight: 1)]
            }
        }
        keys[name.rawValue] = shares
        return keys
    }

    /// The data plane's view of a revision's settings.
    static func settings(_ spec: ServiceSpec?) -> RevisionSettings {
        guard let spec else { return RevisionSettings() }
        func limit(_ span: TimeSpan) -> Duration? { span.duration > .zero ? span.duration : nil }
        return RevisionSettings(
            concurrency: spec.scaling.concurrency, queueDepth: spec.scaling.queueDepth,
            responseStartTimeout: limit(spec.timeouts.responseStart), requestTimeout: limit(spec.timeouts.request),
            idleTimeout: limit(spec.timeouts.idle), upstreamProtocol: upstreamProtocol(spec.portProtocol))
    }

    /// What the gateway speaks to instances whose port speaks `portProtocol`.
    static func upstreamProtocol(_ portProtocol: PortProtocol) -> UpstreamProtocol {
        switch portProtocol {
        case .http1: .http1
        case .h2c: .h2c
        }
    }
}

/// One change to the gateway's ``RoutingTable``.
enum RoutingChange: Sendable, Equatable {
    case setRevision(String, RevisionSettings, [Backend])
    case setTraffic(service: String, routes: [String: [TrafficWeight]])
    case removeRevision(String)
}

extension RoutingTable {
    /// Applies changes from ``ServiceRoutes/changes(service:from:to:)`` in order.
    func apply(_ changes: [RoutingChange]) {
        for change in changes {
            switch change {
            case .setRevision(let name, let settings, let backends):
                setRevision(name, settings: settings, backends: backends)
            case .setTraffic(let service, let routes):
                setTraffic(service: service, routes: routes)
            case .removeRevision(let name):
                removeRevision(name)
            }
        }
    }
}
