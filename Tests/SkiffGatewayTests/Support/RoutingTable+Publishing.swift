@testable import SkiffGateway

extension RoutingTable {
    /// Publishes `revision` with `backends` and sends every request for `service` to it, as the
    /// controller does: the revision first, then all of the service's routing keys in one step
    /// (so tag keys of `service` go unless named again).
    func route(
        _ service: String, to revision: String, settings: RevisionSettings = RevisionSettings(), backends: [Backend]
    ) {
        self.setRevision(revision, settings: settings, backends: backends)
        self.setTraffic(service: service, routes: [service: all(revision)])
    }

    /// Requests in flight on `revision`'s instances, draining ones included, as the autoscaler
    /// samples them.
    func inFlight(revision: String) -> Int {
        self.sample().filter { $0.revision == revision }.reduce(0) { total, load in
            total + load.instances.reduce(0) { $0 + $1.inFlight }
        }
    }
}

/// A routing key's whole traffic to one revision.
func all(_ revision: String) -> [TrafficWeight] {
    [TrafficWeight(revision: revision, weight: 1)]
}
