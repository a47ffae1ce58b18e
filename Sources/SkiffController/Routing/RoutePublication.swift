import SkiffGateway
import SkiffModel

/// What the routing table was last told about each service, and what to tell it next: the
/// difference between the ``ServiceRoutes`` the catalog and the instances call for now and
/// those published last.
struct RoutePublication: Sendable {
    private var published: [ServiceName: ServiceRoutes] = [:]

    /// The changes that bring the routing table to `catalog` and `instances`, one list per
    /// service (each applied as one step, so a service's traffic moves atomically), and notes
    /// them as published.
    ///
    /// Every active revision is routed, even at zero instances, so its requests queue for
    /// it; so is every revision that still has instances. An instance takes requests while it
    /// is ready or frozen and not being stopped.
    mutating func publish(
        _ catalog: ServiceCatalog, instances: some Collection<Controller.Supervised>
    ) -> [[RoutingChange]] {
        var all: [[RoutingChange]] = []
        for name in Set(catalog.names).union(published.keys).sorted() {
            let before = published[name] ?? ServiceRoutes()
            var after = ServiceRoutes()
            if catalog[name] != nil {
                let routed = instances.filter { $0.instance.service == name }.map { entry in
                    ServiceRoutes.Instance(
                        revision: entry.instance.revision,
                        backend: entry.instance.state.isServing && !entry.stopRequested
                            ? Self.backend(for: entry.instance) : nil)
                }
                after = ServiceRoutes(
                    service: name,
                    active: catalog.activeRevisions(of: name).map { ($0.revision.name, $0.revision.spec) },
                    traffic: catalog.resolvedTraffic(of: name), instances: routed, previous: before)
            }
            let changes = ServiceRoutes.changes(service: name.rawValue, from: before, to: after)
            if !changes.isEmpty { all.append(changes) }
            published[name] = catalog[name] == nil ? nil : after
        }
        return all
    }

    /// Where an instance takes requests: its `HOST:PORT` address.
    static func backend(for instance: Instance) -> Backend? {
        guard let address = instance.address, let colon = address.lastIndex(of: ":"),
            let port = Int(address[address.index(after: colon)...])
        else { return nil }
        return Backend(id: instance.id, host: String(address[..<colon]), port: port)
    }
}
