/// What one routing key (`NAME` or `TAG---NAME`) sends its requests to, immutable once
/// published in a table snapshot: a revision and that revision's ready instances.
final class ServiceRoute: Sendable {
    let key: String
    let revision: RevisionRoute
    let slots: [BackendSlot]

    init(key: String, revision: RevisionRoute, slots: [BackendSlot]) {
        self.key = key
        self.revision = revision
        self.slots = slots
    }

    /// Picks the backend with the fewest in-flight requests and takes one unit of its
    /// capacity; nil when there is none, or every backend is at the revision's hard limit.
    /// Ties go to whichever the random starting point meets first, so equal backends share
    /// load without coordination.
    ///
    /// The scan is exact (not power-of-two-choices) because services have few instances and
    /// a relaxed atomic load per backend costs nanoseconds.
    @inline(__always)
    func acquire(seed: UInt64) -> BackendSlot? {
        let limit = self.revision.settings.concurrency
        if limit == 0 && self.slots.count == 1 {
            let slot = self.slots[0]
            slot.acquire()
            return slot
        }
        return RevisionRoute.acquireLeastLoaded(self.slots, limit: limit, seed: seed)
    }
}
