import SkiffModel

/// What a starting server does with the instances a previous server process left behind
/// (after a crash, or a shutdown that kept them): a pure decision over the stored instance
/// records, the runtime's leftovers and the revisions that should run now.
///
/// An instance is a candidate for adoption when its record says it was serving (ready or
/// frozen) and its revision should run. Everything else the runtime still has is stopped:
/// instances of revisions or services that are gone, half-started ones, and containers
/// without a record (a crash between starting one and recording it). Candidates that then
/// fail verification (process gone, port silent) are stopped too.
struct RecoveryPlan: Sendable, Equatable {
    /// Records of instances to verify and, if they pass, adopt; by id.
    var candidates: [Instance]
    /// Instance ids to stop and forget, sorted.
    var discard: [String]

    init(candidates: [Instance], discard: [String]) {
        self.candidates = candidates
        self.discard = discard
    }

    /// - Parameters:
    ///   - stored: the instance records in the store.
    ///   - leftovers: what the runtime still has (containers or bundles), by id.
    ///   - activeRevisions: revisions that should run now (the latest of each service, and
    ///     those with traffic or a tag).
    init(stored: [Instance], leftovers: [String], activeRevisions: Set<String>) {
        let present = Set(leftovers)
        var candidates: [Instance] = []
        var discard = Set(leftovers)
        for instance in stored {
            if instance.state.isServing, instance.address != nil, activeRevisions.contains(instance.revision),
                present.contains(instance.id)
            {
                candidates.append(instance)
                discard.remove(instance.id)
            } else {
                discard.insert(instance.id)
            }
        }
        self.init(candidates: candidates.sorted { $0.id < $1.id }, discard: discard.sorted())
    }
}
