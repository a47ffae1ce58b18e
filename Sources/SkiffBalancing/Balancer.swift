/// What the balancer needs of an instance: its load, whether it still takes requests, and a
/// way to take one unit of its capacity.
///
/// The gateway's backends implement it with atomic counters shared by every event loop; the
/// simulator's instances with plain integers. Both go through the same pick
/// (``Balancer/acquireLeastLoaded(_:limit:seed:)``) and the same queue
/// (``ActivatorStateMachine``), so what `skiff simulate` predicts is what the gateway does.
public protocol BalancedInstance: AnyObject {
    /// Requests in flight on it now.
    var currentLoad: Int { get }
    /// Set once it left the routing table: it takes no new request.
    var isRetired: Bool { get }
    /// Takes one unit of capacity if it has less than `limit` in flight (0: no limit).
    func tryAcquire(limit: Int) -> Bool
}

/// The one rule that sends a request to an instance.
public enum Balancer {
    /// Takes one unit of capacity on the instance with the fewest in-flight requests under
    /// `limit` (0: no limit) and returns it; nil when there is none, or all are at the limit.
    ///
    /// Ties go to whichever the scan meets first from a starting point chosen by `seed`, so
    /// equal instances share load without coordination: requests pass a random seed, the
    /// activator's queue passes 0 (the first instance in routing order). The scan is exact
    /// (not power-of-two-choices) because services have few instances and one relaxed load
    /// per instance costs nanoseconds.
    ///
    /// Inlinable: it is the gateway's per-request pick, specialised for its backend type.
    @inlinable
    @inline(__always)
    public static func acquireLeastLoaded<Instance: BalancedInstance>(
        _ instances: [Instance], limit: Int, seed: UInt64
    ) -> Instance? {
        let count = instances.count
        if limit == 0 && count == 1 {
            // The common case, a single instance without a limit: nothing to compare.
            let instance = instances[0]
            return instance.tryAcquire(limit: 0) ? instance : nil
        }
        guard count > 0 else { return nil }
        // A few rounds: another thread may take the capacity between the scan and the exchange.
        for _ in 0..<4 {
            var best: Instance?
            var bestLoad = Int.max
            var index = Int(seed % UInt64(count))
            for _ in 0..<count {
                let candidate = instances[index]
                let load = candidate.currentLoad
                if load < bestLoad && !candidate.isRetired {
                    best = candidate
                    bestLoad = load
                }
                index += 1
                if index == count { index = 0 }
            }
            guard let best, limit == 0 || bestLoad < limit else { return nil }
            if best.tryAcquire(limit: limit) { return best }
        }
        return nil
    }
}

/// The random numbers that break ties between equally loaded instances: xorshift64*, plenty
/// for spreading load, a few cycles each. Seeded, so the simulator replays the same choices.
@frozen
public struct TieBreaker: Sendable {
    @usableFromInline
    var state: UInt64

    /// `seed` must not be zero (zero is replaced, as xorshift would stay at zero forever).
    @inlinable
    public init(seed: UInt64) {
        self.state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    @inlinable
    @inline(__always)
    public mutating func next() -> UInt64 {
        self.state ^= self.state >> 12
        self.state ^= self.state << 25
        self.state ^= self.state >> 27
        return self.state &* 2_685_821_657_736_338_717
    }
}
