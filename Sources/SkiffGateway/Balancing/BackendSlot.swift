import NIOCore
import Synchronization

/// A backend as the data plane sees it: the address plus its live load counter.
///
/// There is one slot per backend ID across all routing keys, so an instance reachable through
/// both `NAME` and `TAG---NAME` has one counter. Slots are shared by every event loop; the
/// counter is an atomic so that picking a backend and finishing a request never takes a lock.
/// A slot outlives its removal from the table for as long as requests or pooled connections
/// still reference it.
final class BackendSlot: Sendable {
    let backend: Backend
    /// Resolved once: connecting never goes through name resolution.
    let address: SocketAddress?
    /// Requests sent to this backend that have not finished.
    let inFlight = Atomic<Int>(0)
    /// Set once the backend left the routing table: it gets no new requests, and its
    /// connections are closed instead of pooled.
    let retired = Atomic<Bool>(false)

    init(backend: Backend) {
        self.backend = backend
        self.address = try? SocketAddress(ipAddress: backend.host, port: backend.port)
    }

    @inline(__always)
    func acquire() {
        self.inFlight.wrappingAdd(1, ordering: .relaxed)
    }

    @inline(__always)
    func release() {
        self.inFlight.wrappingSubtract(1, ordering: .relaxed)
    }

    var currentLoad: Int {
        self.inFlight.load(ordering: .relaxed)
    }

    var isRetired: Bool {
        self.retired.load(ordering: .relaxed)
    }
}
