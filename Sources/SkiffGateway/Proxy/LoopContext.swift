import NIOCore

/// Everything the proxy keeps per event loop: the backend connection pool, a cached routing
/// snapshot, and a cheap random source for tie-breaking. Confined to its loop, lock-free.
final class LoopContext {
    let pool: UpstreamPool
    let table: RoutingTable
    private var snapshot = RoutingTable.Snapshot(generation: -1, routes: [:])
    private var randomState: UInt64

    init(table: RoutingTable, pool: UpstreamPool) {
        self.table = table
        self.pool = pool
        var generator = SystemRandomNumberGenerator()
        self.randomState = generator.next() | 1
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

    /// xorshift64*: plenty for breaking ties between backends.
    @inline(__always)
    func nextRandom() -> UInt64 {
        self.randomState ^= self.randomState >> 12
        self.randomState ^= self.randomState << 25
        self.randomState ^= self.randomState >> 27
        return self.randomState &* 2_685_821_657_736_338_717
    }
}
