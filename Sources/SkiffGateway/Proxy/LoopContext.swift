import NIOCore
import SkiffBalancing

/// Everything the proxy keeps per event loop: the backend connection pool, a cached routing
/// snapshot, and a cheap random source for tie-breaking. Confined to its loop, lock-free.
final class LoopContext {
    let pool: UpstreamPool
    let table: RoutingTable
    private var snapshot = RoutingTable.Snapshot(generation: -1, routes: [:])
    private var tieBreaker: TieBreaker

    init(table: RoutingTable, pool: UpstreamPool) {
        self.table = table
        self.pool = pool
        var generator = SystemRandomNumberGenerator()
        self.tieBreaker = TieBreaker(seed: generator.next() | 1)
    }

    /// The route for `key`, from the snapshot this loop holds; refreshed only when the
    /// table's generation moved.
    @inline(__always)
    func route(for key: String) -> ServiceRoute? {
        let generation = self.table.generation
        if generation != self.snapshot.generation {
            self.snapshot = self.table.snapshot()
        }
        return self.snapshot.routes[key]
    }

    var eventLoop: any EventLoop { self.pool.eventLoop }

    /// The loop's clock: every deadline and duration of the proxy reads it, so tests on an
    /// `EmbeddedEventLoop` move time by hand.
    var now: NIODeadline {
        @inline(__always) get { self.pool.eventLoop.now }
    }

    /// A seed for the balancer's pick, to break ties between equally loaded backends.
    @inline(__always)
    func nextRandom() -> UInt64 {
        self.tieBreaker.next()
    }
}
