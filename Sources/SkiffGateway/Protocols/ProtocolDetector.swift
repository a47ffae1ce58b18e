import NIOCore
import NIOHTTP2

/// The first handler of a client connection: tells HTTP/2 with prior knowledge (h2c, which
/// opens with the client preface) from HTTP/1.x by the connection's first bytes, installs
/// that protocol's handlers behind itself, hands them the bytes and leaves the pipeline.
///
/// It looks only until the bytes disagree with the preface, so an HTTP/1 request is decided
/// on its first bytes and costs one extra hop, once per connection.
final class ProtocolDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum ClientProtocol {
        case http1
        case http2
    }

    /// RFC 9113 §3.4.
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let configure: (ClientProtocol, ChannelPipeline.SynchronousOperations) throws -> Void
    private var buffered: ByteBuffer?
    /// Graceful shutdown began before the protocol was known: the handlers installed later
    /// learn it before the first bytes, so a request already sent is answered and the
    /// connection closes after it.
    private var quiescing = false
    private var linger: Scheduled<Void>?

    /// - Parameter configure: installs the handlers of the protocol found, after this one.
    init(configure: @escaping (ClientProtocol, ChannelPipeline.SynchronousOperations) throws -> Void) {
        self.configure = configure
    }

    /// How much of the preface decides: `PRI * HTTP/2.0` is no HTTP/1 request, so a connection
    /// opening with it is HTTP/2, and a malformed rest of the preface is HTTP/2's to refuse
    /// (with a GOAWAY), not a 400.
    static let decidingPrefix = 14

    /// What `bytes` (the connection's first) say, or nil while they are a prefix of the preface.
    static func detect(_ bytes: ByteBuffer) -> ClientProtocol? {
        if !Self.agreesWithPreface(bytes, upTo: Self.decidingPrefix) { return .http1 }
        return bytes.readableBytes >= Self.decidingPrefix ? .http2 : nil
    }

    /// Whether the readable bytes, up to `limit` of them, are the start of the preface.
    static func agreesWithPreface(_ bytes: ByteBuffer, upTo limit: Int) -> Bool {
        let count = min(bytes.readableBytes, limit)
        return bytes.withUnsafeReadableBytes { raw in
            zip(raw.prefix(count), Self.preface).allSatisfy { $0 == $1 }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        if var buffered = self.buffered {
            buffered.writeBuffer(&bytes)
            bytes = buffered
        }
        guard let found = Self.detect(bytes) else {
            self.buffered = bytes
            return
        }
        self.buffered = nil
        do {
            try self.configure(found, context.pipeline.syncOperations)
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        if self.quiescing {
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        context.fireChannelRead(self.wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// A connection with nothing decided yet may have its first request on the way: like an
    /// idle keep-alive connection it lingers, and closes if nothing came.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard !self.quiescing else { return }
        self.quiescing = true
        // Cancelled when a protocol is found and this handler leaves.
        self.linger = context.eventLoop.assumeIsolated().scheduleTask(in: ProxyHandler.shutdownLinger) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.linger?.cancel()
        self.linger = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.buffered = nil
        context.fireChannelInactive()
    }
}

/// Closes an HTTP/2 connection after a connection error: NIO's HTTP/2 handler has sent the
/// GOAWAY with the error's code and leaves the closing to the application. Errors of one
/// stream reset that stream only.
final class HTTP2ConnectionErrorHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOHTTP2Errors.StreamError { return }
        context.close(promise: nil)
    }
}
