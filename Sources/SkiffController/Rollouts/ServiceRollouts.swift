import SkiffModel

/// The latest gradual rollout of each service that had one, and which of them changed since
/// they were last written to the store (a rollout resumes from the store after a restart).
struct ServiceRollouts: Sendable {
    private var machines: [ServiceName: RolloutMachine] = [:]
    private var changed: Set<ServiceName> = []

    subscript(name: ServiceName) -> RolloutMachine? {
        get { machines[name] }
        set { machines[name] = newValue }
    }

    /// Services with a rollout, sorted.
    var names: [ServiceName] { machines.keys.sorted() }

    /// The rollout of `name` is to be written to the store.
    mutating func noteChanged(_ name: ServiceName) { changed.insert(name) }

    /// One service whose rollout is still to be written, taken off the list.
    mutating func takeChanged() -> ServiceName? { changed.popFirst() }
}
