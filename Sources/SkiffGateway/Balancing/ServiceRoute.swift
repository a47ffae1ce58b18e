/// What one routing key (`NAME` or `TAG---NAME`) sends its requests to, immutable once
/// published in a table snapshot: one or more revisions with their shares of the traffic.
///
/// A request is assigned to a revision once, by weight, and then waits in that revision's
/// queue if it has no free instance; the split therefore holds per request even while one
/// side is scaling from zero.
final class ServiceRoute: Sendable {
    let key: String
    let targets: [RevisionTarget]
    /// Sum of the targets' weights; a random number below it picks the target.
    private let totalWeight: UInt64

    init(key: String, targets: [RevisionTarget]) {
        precondition(!targets.isEmpty, "a route needs at least one revision")
        self.key = key
        self.targets = targets
        self.totalWeight = targets.last.map { UInt64($0.cumulativeWeight) } ?? 1
    }

    /// The revision a new request goes to. A single-revision route (the common case) costs
    /// nothing; a split draws `random` (uniform) against the cumulative weights.
    @inline(__always)
    func choose(random: () -> UInt64) -> RevisionTarget {
        if self.targets.count == 1 { return self.targets[0] }
        let point = Int(random() % self.totalWeight)
        for target in self.targets where point < target.cumulativeWeight {
            return target
        }
        return self.targets[self.targets.count - 1]
    }

    /// Whether this route sends the same revisions, instances and weights as `targets`.
    func matches(_ targets: [(route: RevisionRoute, slots: [BackendSlot], weight: Int)]) -> Bool {
        guard self.targets.count == targets.count else { return false }
        var cumulative = 0
        for (mine, theirs) in zip(self.targets, targets) {
            cumulative += theirs.weight
            guard mine.revision === theirs.route, mine.cumulativeWeight == cumulative,
                mine.slots.count == theirs.slots.count, zip(mine.slots, theirs.slots).allSatisfy({ $0 === $1 })
            else { return false }
        }
        return true
    }
}

/// One revision of a route, with the ready instances it had when the snapshot was made.
final class RevisionTarget: Sendable {
    let revision: RevisionRoute
    let slots: [BackendSlot]
    /// This target's weight plus the weights of the targets before it.
    let cumulativeWeight: Int

    init(revision: RevisionRoute, slots: [BackendSlot], cumulativeWeight: Int) {
        self.revision = revision
        self.slots = slots
        self.cumulativeWeight = cumulativeWeight
    }
}
