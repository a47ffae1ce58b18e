import NIOConcurrencyHelpers
import NIOCore
import SkiffBalancing
import Synchronization

/// A backend as the data plane sees it: the address plus its live load counter.
///
/// There is one slot per backend ID across all routing keys, so an instance reachable through
/// both `NAME` and `TAG---NAME` has one counter. Slots are shared by every event loop; the
/// counter is an atomic so that picking a backend and finishing a request never takes a lock.
/// A slot outlives its removal from the table for as long as requests or pooled connections
/// still reference it.
final class BackendSlot: BalancedInstance, Sendable {
    let backend: Backend
    /// The revision it is an instance of (its name labels the load samples).
    let revision: RevisionRoute
    /// The revision's activator, whose queue waits for this slot's capacity.
    let activator: Activator
    /// Resolved once: connecting never goes through name resolution.
    let address: SocketAddress?
    /// Requests sent to this backend that have not finished.
    let inFlight = Atomic<Int>(0)
    /// Requests finished on this backend, ever: tells an idle backend from a busy one whose
    /// requests all finished between two samples.
    let served = Atomic<Int>(0)
    /// Set once the backend left the routing table: it gets no new requests, and its
    /// connections are closed instead of pooled.
    let retired = Atomic<Bool>(false)
    /// Set while the instance is (being) frozen: the request that acquires it thaws it first.
    let frozen = Atomic<Bool>(false)
    /// Serialises freezing and thawing, which are writes to the instance's cgroup.
    private let freezeLock = NIOLock()

    init(backend: Backend, revision: RevisionRoute) {
        self.backend = backend
        self.revision = revision
        self.activator = revision.activator
        self.address = try? SocketAddress(ipAddress: backend.host, port: backend.port)
    }

    @inline(__always)
    func acquire() {
        self.inFlight.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    /// Takes one unit of capacity if the backend has less than `limit` in flight (0: no limit).
    @inline(__always)
    func tryAcquire(limit: Int) -> Bool {
        if limit == 0 {
            self.acquire()
            return true
        }
        var current = self.inFlight.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = self.inFlight.compareExchange(
                expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives the capacity back and hands it to a request queued for the revision, if any.
    @inline(__always)
    func release() {
        self.inFlight.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        self.served.wrappingAdd(1, ordering: .relaxed)
        if self.activator.hasWaiters {
            self.activator.capacityFreed()
        }
    }

    var currentLoad: Int {
        self.inFlight.load(ordering: .relaxed)
    }

    var isRetired: Bool {
        self.retired.load(ordering: .relaxed)
    }

    // MARK: Freezing

    /// Freezes the instance with `freeze` if, and only if, no request is in flight on it.
    ///
    /// The flag is raised before the in-flight count is read, and a request raises the count
    /// before it reads the flag (both sequentially consistent): so either this sees the
    /// request and backs off, or the request sees the flag and thaws after the freeze.
    func freezeIfIdle(_ freeze: () throws -> Void) rethrows -> Bool {
        try self.freezeLock.withLock {
            guard !self.frozen.load(ordering: .sequentiallyConsistent) else { return false }
            self.frozen.store(true, ordering: .sequentiallyConsistent)
            guard self.inFlight.load(ordering: .sequentiallyConsistent) == 0 else {
                self.frozen.store(false, ordering: .sequentiallyConsistent)
                return false
            }
            do {
                try freeze()
            } catch {
                self.frozen.store(false, ordering: .sequentiallyConsistent)
                throw error
            }
            return true
        }
    }

    /// Called by a request that acquired this slot: thaws the instance if it is frozen.
    /// Returns whether it had to.
    @inline(__always)
    func thawIfFrozen(_ thaw: () -> Void) -> Bool {
        guard self.frozen.load(ordering: .sequentiallyConsistent) else { return false }
        return self.freezeLock.withLock {
            guard self.frozen.load(ordering: .sequentiallyConsistent) else { return false }
            thaw()
            self.frozen.store(false, ordering: .sequentiallyConsistent)
            return true
        }
    }

    var isFrozen: Bool {
        self.frozen.load(ordering: .relaxed)
    }
}
