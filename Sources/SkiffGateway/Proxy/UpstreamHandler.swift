import NIOCore
import NIOHTTP1

/// The tail of a backend connection's pipeline: hands response parts to the proxy handler
/// that currently owns the connection, and holds reads while that client can't keep up.
///
/// Owned by exactly one of: a ``ProxyHandler`` (while an exchange runs on it) or the loop's
/// ``UpstreamPool`` (while idle). Both live on the same event loop as this handler.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let slot: BackendSlot
    /// An HTTP/2 stream carries one exchange; an HTTP/1.1 connection may carry many.
    let isStream: Bool
    /// Set while an exchange uses this connection; cleared by the proxy when it lets go.
    var proxy: ProxyHandler?
    /// Set while the connection sits idle in a pool.
    var pool: UpstreamPool?

    private var context: ChannelHandlerContext?
    private var readPending = false
    private var responseKeepAlive = true

    init(slot: BackendSlot, isStream: Bool = false) {
        self.slot = slot
        self.isStream = isStream
    }

    var isActive: Bool {
        self.context?.channel.isActive ?? false
    }

    var isWritable: Bool {
        self.context?.channel.isWritable ?? false
    }

    /// The connection may carry another request: the last response allowed keep-alive and
    /// the backend has not closed it.
    var isReusable: Bool {
        !self.isStream && self.responseKeepAlive && self.isActive
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        if case .head(let head) = part {
            self.responseKeepAlive = head.isKeepAlive
        }
        guard let proxy = self.proxy else {
            // Nothing was asked: a backend talking out of turn can't be trusted with reuse.
            context.close(promise: nil)
            return
        }
        proxy.upstreamRead(part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.proxy?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.proxy?.upstreamBecameWritable()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let proxy = self.proxy {
            self.proxy = nil
            proxy.upstreamClosed(self)
        } else if let pool = self.pool {
            self.pool = nil
            pool.remove(self)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if let proxy = self.proxy, !proxy.isClientWritable {
            self.readPending = true
        } else {
            context.read()
        }
    }

    // MARK: Used by the proxy handler

    /// Prepares for a new exchange.
    func attach(to proxy: ProxyHandler) {
        self.pool = nil
        self.proxy = proxy
        self.responseKeepAlive = true
    }

    func write(_ part: HTTPClientRequestPart) {
        guard let context = self.context else { return }
        guard self.isStream else {
            context.write(self.wrapOutboundOut(part), promise: nil)
            return
        }
        // A stream whose frames are refused (the instance sent GOAWAY before its HEADERS went
        // out) is closed, so the exchange ends or is retried instead of waiting for ever.
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        context.write(self.wrapOutboundOut(part), promise: promise)
    }

    func flush() {
        self.context?.flush()
    }

    func resumeReading() {
        guard self.readPending, let context = self.context else { return }
        self.readPending = false
        context.read()
    }

    func close() {
        self.proxy = nil
        self.pool = nil
        self.context?.close(promise: nil)
    }

    /// Replaces this connection's HTTP codec with `tunnel`, after a `101 Switching Protocols`
    /// whose end was just read. Bytes the instance sent after the 101 go to the tunnel.
    func spliceTunnel(_ tunnel: TunnelHandler) throws {
        guard let context = self.context else { throw ChannelError.ioOnClosedChannel }
        let pipeline = context.pipeline.syncOperations
        try pipeline.addHandler(tunnel, position: .before(self))
        _ = pipeline.removeHandler(try pipeline.handler(type: HTTPRequestEncoder.self))
        _ = pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self))
    }
}
