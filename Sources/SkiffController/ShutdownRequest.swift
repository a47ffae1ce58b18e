import Synchronization

/// What the signal path tells the controller about the coming shutdown. It is called
/// synchronously and cannot wait for the actor, so both facts are atomics the actor reads
/// on its next pass.
final class ShutdownRequest: Sendable {
    private let requested = Atomic(false)
    private let stopsInstances: Atomic<Bool>

    init(stopsInstances: Bool) {
        self.stopsInstances = Atomic(stopsInstances)
    }

    /// A graceful shutdown was asked for.
    var isRequested: Bool { requested.load(ordering: .relaxed) }

    func request() { requested.store(true, ordering: .relaxed) }

    /// Whether the shutdown stops every instance rather than leaving the serving ones running.
    var stopsAllInstances: Bool { stopsInstances.load(ordering: .relaxed) }

    func stopAllInstances() { stopsInstances.store(true, ordering: .relaxed) }
}
