import NIOCore

/// Idle keep-alive connections to backends, for one event loop.
///
/// Only touched from its event loop, so it needs no lock: the proxy handlers of that loop take
/// connections out and put them back. A connection is pooled only after its previous response
/// completed and allowed keep-alive; one the backend closes while idle leaves the pool.
final class UpstreamPool {
    let eventLoop: any EventLoop
    let maxIdlePerBackend: Int
    private let connector: UpstreamConnector
    private var idle: [ObjectIdentifier: [UpstreamHandler]] = [:]
    private var isClosed = false

    init(eventLoop: any EventLoop, maxIdlePerBackend: Int, connector: UpstreamConnector) {
        self.eventLoop = eventLoop
        self.maxIdlePerBackend = maxIdlePerBackend
        self.connector = connector
    }

    /// The most recently used live idle connection to `slot`, if any.
    func take(for slot: BackendSlot) -> UpstreamHandler? {
        let key = ObjectIdentifier(slot)
        while let upstream = self.idle[key]?.popLast() {
            if upstream.isActive {
                upstream.pool = nil
                return upstream
            }
        }
        return nil
    }

    /// Keeps `upstream` for reuse, or closes it if it can't or shouldn't be reused.
    func put(_ upstream: UpstreamHandler) {
        upstream.proxy = nil
        guard !self.isClosed, !upstream.slot.isRetired, upstream.isReusable else {
            upstream.close()
            return
        }
        let key = ObjectIdentifier(upstream.slot)
        if self.idle[key, default: []].count >= self.maxIdlePerBackend {
            upstream.close()
            return
        }
        upstream.pool = self
        self.idle[key, default: []].append(upstream)
        // Keep reading while idle so a close from the backend is noticed.
        upstream.resumeReading()
    }

    /// An idle connection closed.
    func remove(_ upstream: UpstreamHandler) {
        let key = ObjectIdentifier(upstream.slot)
        self.idle[key]?.removeAll { $0 === upstream }
        if self.idle[key]?.isEmpty == true {
            self.idle.removeValue(forKey: key)
        }
    }

    /// Opens a new connection to `slot` on this loop.
    func connect(to slot: BackendSlot) -> EventLoopFuture<any Channel> {
        self.connector.connect(slot, self.eventLoop)
    }

    /// Number of idle connections (all backends).
    var idleCount: Int {
        self.idle.values.reduce(0) { $0 + $1.count }
    }

    /// Closes every idle connection and stops pooling.
    func close() {
        self.isClosed = true
        let all = self.idle.values.flatMap { $0 }
        self.idle.removeAll()
        for upstream in all { upstream.close() }
    }
}
