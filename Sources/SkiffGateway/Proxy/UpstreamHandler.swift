import NIOCore
import NIOHTTP1
import NIOHTTP2
import SkiffHTTP1

/// The tail of a backend connection's pipeline: hands response parts to the proxy handler
/// that currently owns the connection, and holds reads while that client can't keep up.
///
/// On an HTTP/1.1 connection it is the only handler: it writes request heads as bytes
/// (``UpstreamRequest/write(into:)``), frames bodies itself, and reads responses with the
/// gateway's own parser. On an HTTP/2 stream (an h2c instance) it speaks NIO's HTTP/1 parts
/// to the stream's codec instead.
///
/// Owned by exactly one of: a ``ProxyHandler`` (while an exchange runs on it) or the loop's
/// ``UpstreamPool`` (while idle). Both live on the same event loop as this handler.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What a response brings, whichever way the instance speaks.
    enum Part {
        case head(HTTP1Head)
        case body(ByteBuffer)
        case end(HTTP1Headers?)
    }

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

    /// HTTP/1.1: the responses' parser, the bytes read but not parsed yet, and how the running
    /// request's body is framed.
    private var parser = HTTP1Parser(kind: .response)
    private var inbound: ByteBuffer?
    private var requestChunked = false
    /// An informational response (100, 103) is being skipped: the proxy answers
    /// `100-continue` to the client itself.
    private var skippingInformational = false
    /// The method of the running request, which frames an h2c instance's response.
    private var requestMethod = HTTP1Method.get
    /// The response's end was read: on a stream whose request had ended too, that closed it.
    private var responseEnded = false

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

    /// The connection may carry another request: the last response allowed keep-alive, the
    /// backend has not closed it and sent nothing beyond that response.
    var isReusable: Bool {
        !self.isStream && self.responseKeepAlive && self.isActive && self.inbound == nil
            && self.parser.isBetweenMessages
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.isStream {
            self.readStreamPart(StreamFrames.clientParts.unwrapInboundIn(data), context: context)
            return
        }
        var bytes = self.inbound.take(appending: self.unwrapInboundIn(data))
        self.parse(&bytes, context: context)
    }

    private func parse(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        while self.context != nil {
            guard let proxy = self.proxy else {
                // Nothing was asked: a backend talking out of turn can't be trusted with reuse.
                if bytes.readableBytes > 0 { context.close(promise: nil) }
                return
            }
            let event: HTTP1Event?
            do {
                event = try self.parser.next(from: &bytes)
            } catch {
                context.close(promise: nil)
                return
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                if head.status / 100 == 1 && head.status != 101 {
                    self.skippingInformational = true
                    continue
                }
                self.responseKeepAlive = head.keepAlive
                proxy.upstreamRead(.head(head))
            case .body(let buffer):
                proxy.upstreamRead(.body(buffer))
            case .end(let trailers):
                if self.skippingInformational {
                    self.skippingInformational = false
                    continue
                }
                if self.parser.isUpgraded {
                    // After a 101 the bytes that follow are the new protocol's: the tunnel
                    // takes them (``spliceTunnel(_:)``) when the proxy switches.
                    self.inbound = bytes.readableBytes > 0 ? bytes : nil
                    proxy.upstreamRead(.end(trailers))
                    return
                }
                proxy.upstreamRead(.end(trailers))
            }
        }
        self.inbound = bytes.readableBytes > 0 ? bytes : nil
    }

    private func readStreamPart(_ part: HTTPClientResponsePart, context: ChannelHandlerContext) {
        guard let proxy = self.proxy else {
            context.close(promise: nil)
            return
        }
        switch part {
        case .head(let head):
            guard head.status.code / 100 != 1 else { return }
            proxy.upstreamRead(.head(HTTP1Head(stream: head, requestMethod: self.requestMethod)))
        case .body(let buffer):
            proxy.upstreamRead(.body(buffer))
        case .end(let trailers):
            self.responseEnded = true
            proxy.upstreamRead(.end(trailers.map(HTTP1Headers.init)))
        }
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
        // A response without a length ends with its connection.
        if !self.isStream, let proxy = self.proxy, !self.parser.isUpgraded,
            case .end(let trailers)? = try? self.parser.finish()
        {
            proxy.upstreamRead(.end(trailers))
        }
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

    /// Writes a request head; its body and end follow with ``writeBody(_:)`` and ``writeEnd(_:)``.
    func write(_ request: UpstreamRequest) {
        guard let context = self.context else { return }
        self.requestMethod = request.method
        guard self.isStream else {
            self.parser.expectResponse(to: request.method)
            self.requestChunked = request.isChunked
            var buffer = context.channel.allocator.buffer(capacity: request.estimatedSize)
            request.write(into: &buffer)
            context.write(self.wrapOutboundOut(buffer), promise: nil)
            return
        }
        self.writeStreamPart(.head(request.nioHead), context: context)
    }

    func writeBody(_ buffer: ByteBuffer) {
        guard let context = self.context else { return }
        guard self.isStream else {
            guard self.requestChunked else {
                context.write(self.wrapOutboundOut(buffer), promise: nil)
                return
            }
            context.writeHTTP1Chunk(buffer)
            return
        }
        self.writeStreamPart(.body(.byteBuffer(buffer)), context: context)
    }

    func writeEnd(_ trailers: HTTP1Headers?) {
        guard let context = self.context else { return }
        guard self.isStream else {
            guard self.requestChunked else { return }
            context.write(self.wrapOutboundOut(context.lastHTTP1Chunk(trailers)), promise: nil)
            return
        }
        self.writeStreamPart(.end(trailers.map(HTTPHeaders.init)), context: context)
    }

    private func writeStreamPart(_ part: HTTPClientRequestPart, context: ChannelHandlerContext) {
        // A stream whose frames are refused (the instance sent GOAWAY before its HEADERS went
        // out) is closed, so the exchange ends or is retried instead of waiting for ever.
        let promise = context.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        context.write(NIOAny(part), promise: promise)
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
        guard let context = self.context else { return }
        if self.isStream, self.responseEnded {
            // A stream that ended both ways is closed, and NIO closes its channel right after
            // handing over the frame that ended it; a RST_STREAM now would go out on a closed
            // stream. An instance that sent GOAWAY takes that as a connection error and reads
            // no further, so the next stream's HEADERS would be neither answered nor refused.
            // A stream still open by then (its request not all sent) is reset.
            let channel = context.channel
            context.eventLoop.assumeIsolated().execute { channel.close(promise: nil) }
            return
        }
        context.close(promise: nil)
    }

    /// Puts `tunnel` in front of this handler, after a `101 Switching Protocols` whose end was
    /// just read: from here on the connection's bytes are the tunnel's, starting with any the
    /// instance sent right behind the 101.
    func spliceTunnel(_ tunnel: TunnelHandler) throws {
        guard let context = self.context else { throw ChannelError.ioOnClosedChannel }
        try context.pipeline.syncOperations.addHandler(tunnel, position: .before(self))
        if let early = self.inbound {
            self.inbound = nil
            tunnel.forwardToPartner(early)
        }
    }
}

/// Reads what a handler gets on an HTTP/2 stream out of a channel read, for the handlers that
/// take bytes on an HTTP/1 connection (a handler declares one inbound type): frames on a
/// client's stream, NIO's HTTP/1 parts from the codec on an h2c instance's.
enum StreamFrames {
    final class Reader: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP2Frame.FramePayload
    }

    final class ClientPartReader: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPClientResponsePart
    }

    static let reader = Reader()
    static let clientParts = ClientPartReader()
}
