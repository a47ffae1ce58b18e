/// The ready backends of one routing key, immutable once published in a table snapshot.
final class ServiceRoute: Sendable {
    let key: String
    let slots: [BackendSlot]

    init(key: String, slots: [BackendSlot]) {
        self.key = key
        self.slots = slots
    }

    /// Picks the backend with the fewest in-flight requests; ties go to whichever the random
    /// starting point meets first, so equal backends share load without coordination.
    ///
    /// The scan is exact (not power-of-two-choices) because services have few instances and
    /// a relaxed atomic load per backend costs nanoseconds.
    @inline(__always)
    func pick(seed: UInt64) -> BackendSlot? {
        let count = self.slots.count
        switch count {
        case 0:
            return nil
        case 1:
            return self.slots[0]
        default:
            let start = Int(seed % UInt64(count))
            var best = self.slots[start]
            var bestLoad = best.currentLoad
            var index = start
            for _ in 1..<count {
                index += 1
                if index == count { index = 0 }
                let candidate = self.slots[index]
                let load = candidate.currentLoad
                if load < bestLoad {
                    best = candidate
                    bestLoad = load
                }
            }
            return best
        }
    }
}
