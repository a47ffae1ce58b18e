import NIOCore
import NIOHTTP2

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
    /// One HTTP/2 connection per h2c instance, shared by every request of this loop to it,
    /// each on its own stream; set from the moment it is being connected.
    private var http2: [ObjectIdentifier: EventLoopFuture<any Channel>] = [:]
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

    /// A new stream to `slot` on this loop's HTTP/2 connection to it, connecting first if
    /// there is none (or it closed), or if `fresh` (a retry after a stream died with its
    /// connection). The stream's channel carries an ``UpstreamHandler``.
    func openStream(to slot: BackendSlot, fresh: Bool = false) -> EventLoopFuture<any Channel> {
        let key = ObjectIdentifier(slot)
        if fresh {
            // Left to finish the streams it has; it takes no new ones.
            self.http2.removeValue(forKey: key)
        }
        let connection: EventLoopFuture<any Channel>
        if let existing = self.http2[key] {
            connection = existing
        } else {
            connection = self.connector.connectHTTP2(slot, self.eventLoop)
            if !self.isClosed && !slot.isRetired {
                self.http2[key] = connection
                connection.assumeIsolated().whenComplete { result in
                    switch result {
                    case .success(let channel):
                        channel.closeFuture.assumeIsolated().whenComplete { _ in self.forget(key, connection) }
                        let observer = try? channel.pipeline.syncOperations.handler(type: HTTP2GoAwayObserver.self)
                        observer?.onGoAway = { self.forget(key, connection) }
                    case .failure:
                        self.forget(key, connection)
                    }
                }
            }
        }
        return connection.assumeIsolated().flatMapThrowing { channel in
            try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self).syncMultiplexer()
        }.flatMap { multiplexer in
            multiplexer.createStreamChannel(UpstreamConnector.streamInitializer(for: slot))
        }.nonisolated()
    }

    /// Whether this loop has (or is opening) an HTTP/2 connection to `slot`.
    func hasHTTP2Connection(to slot: BackendSlot) -> Bool {
        self.http2[ObjectIdentifier(slot)] != nil
    }

    private func forget(_ key: ObjectIdentifier, _ connection: EventLoopFuture<any Channel>) {
        if let current = self.http2[key], current === connection {
            self.http2.removeValue(forKey: key)
        }
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
        let connections = self.http2.values
        self.http2.removeAll()
        for connection in connections {
            connection.whenSuccess { $0.close(promise: nil) }
        }
    }
}
