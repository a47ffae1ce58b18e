import SkiffBalancing

@testable import SkiffGateway

extension ServiceRoute {
    /// The instances of every revision the route splits between.
    var slots: [BackendSlot] { targets.flatMap(\.slots) }

    /// Acquires an instance of a single-revision route, as the proxy does after choosing.
    func acquire(seed: UInt64) -> BackendSlot? {
        precondition(targets.count == 1, "acquire(seed:) is for routes with one revision")
        return targets[0].acquire(seed: seed)
    }
}

extension RevisionTarget {
    /// Takes capacity on the least-loaded instance, as a request's admission does first.
    func acquire(seed: UInt64) -> BackendSlot? {
        Balancer.acquireLeastLoaded(slots, limit: revision.settings.concurrency, seed: seed)
    }
}
