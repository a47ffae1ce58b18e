import Logging
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import SkiffHTTP1

/// The gateway's HTTP/2 side towards clients: a connection's handlers, and the upgrade of an
/// HTTP/1.1 connection to h2c (`Upgrade: h2c`, RFC 7540 §3.2).
enum HTTP2Server {
    /// HTTP/2 on a client connection: the frame codec, one ``ProxyHandler`` per stream, and
    /// graceful close (GOAWAY, then close once its streams finish) when the gateway drains.
    static func configure(
        _ pipeline: ChannelPipeline.SynchronousOperations, eventLoop: any EventLoop, loop: LoopContext,
        domain: String, observer: GatewayObserver?, logger: Logger
    ) throws {
        let connection = NIOLoopBound(ClientConnection(), eventLoop: eventLoop)
        let manager = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: eventLoop,
            configuration: .init(maxIdleTime: nil, maxAge: nil, maxGraceTime: nil, keepalive: nil))
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: .init(), streamConfiguration: .init(),
            streamDelegate: manager.http2StreamDelegate
        ) { [loop = NIOLoopBound(loop, eventLoop: eventLoop)] stream in
            // Streams live on their connection's loop, with its pool.
            stream.eventLoop.makeCompletedFuture {
                try ProxyHandler.configureStream(
                    stream.pipeline.syncOperations, connection: connection.value, loop: loop.value, domain: domain,
                    observer: observer, logger: logger)
            }
        }
        try pipeline.addHandler(manager)
        try pipeline.addHandler(HTTP2ConnectionErrorHandler())
    }

    // MARK: Upgrade: h2c

    /// Whether an HTTP/1.1 request asks to switch to h2c in a way the gateway takes: `Upgrade`
    /// lists h2c, `Connection` names both `upgrade` and `HTTP2-Settings`, one `HTTP2-Settings`
    /// header, and no body (a body would have to be read as HTTP/1.1 first; such a request is
    /// answered over HTTP/1.1, which the RFC allows).
    static func isUpgradeRequest(_ head: HTTP1Head) -> Bool {
        // On every HTTP/1 request: one scan without allocating settles the usual case.
        guard head.version == .http1_1, head.isUpgrade, head.headers.contains(name: "http2-settings") else {
            return false
        }
        let headers = head.headers
        guard headers.values(name: "http2-settings").count == 1 else { return false }
        guard ProxyHeaders.lists(headers, "upgrade", token: "h2c"),
            ProxyHeaders.lists(headers, "connection", token: "upgrade"),
            ProxyHeaders.lists(headers, "connection", token: "http2-settings")
        else {
            return false
        }
        if headers.contains(name: "transfer-encoding") { return false }
        if let length = headers.first(name: "content-length"), length != "0" { return false }
        return true
    }

    /// The upgraded request as stream 1's HEADERS frame (END_STREAM, END_HEADERS), for the
    /// HTTP/2 handler to read as if the client had sent it; nil if it needs more than one frame.
    ///
    /// Literals without indexing: the client's encoder must find the server's dynamic table
    /// as it left it, empty.
    static func headersFrame(for head: HTTPRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var encoder = HPACKEncoder(allocator: allocator, useHuffmanEncoding: false)
        do {
            try encoder.beginEncoding(allocator: allocator)
            try encoder.appendNonIndexed(header: ":method", value: head.method.rawValue)
            try encoder.appendNonIndexed(header: ":scheme", value: "http")
            try encoder.appendNonIndexed(header: ":authority", value: head.headers.first(name: "host") ?? "")
            try encoder.appendNonIndexed(header: ":path", value: head.uri)
            var skipped: Set<String> = [
                "host", "connection", "upgrade", "http2-settings", "keep-alive", "proxy-connection",
                "transfer-encoding", "te",
            ]
            for value in head.headers["connection"] {
                for token in value.split(separator: ",") { skipped.insert(token.trimmingASCIISpaces().lowercased()) }
            }
            for (name, value) in head.headers where !skipped.contains(name.lowercased()) {
                try encoder.appendNonIndexed(header: name.lowercased(), value: value)
            }
            let block = try encoder.endEncoding()
            // SETTINGS_MAX_FRAME_SIZE's initial value.
            guard block.readableBytes <= 16_384 else { return nil }
            var frame = allocator.buffer(capacity: 9 + block.readableBytes)
            frame.writeInteger(UInt8(truncatingIfNeeded: block.readableBytes >> 16))
            frame.writeInteger(UInt16(truncatingIfNeeded: block.readableBytes))
            frame.writeInteger(UInt8(0x1))  // HEADERS
            frame.writeInteger(UInt8(0x1 | 0x4))  // END_STREAM | END_HEADERS
            frame.writeInteger(UInt32(1))  // stream 1
            frame.writeImmutableBuffer(block)
            return frame
        } catch {
            return nil
        }
    }
}

/// Between an upgraded connection and its HTTP/2 handler: lets the client's preface and first
/// frame (its SETTINGS) through, then the upgrade request as stream 1's HEADERS, then leaves.
/// Anything that does not start with the preface goes through as is, for HTTP/2 to refuse.
final class H2CUpgradeInjector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var request: ByteBuffer?
    private var buffered: ByteBuffer?

    init(request: ByteBuffer) {
        self.request = request
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        if var buffered = self.buffered {
            buffered.writeBuffer(&bytes)
            bytes = buffered
        }
        guard let request = self.request else {
            context.fireChannelRead(self.wrapInboundOut(bytes))
            return
        }
        let preface = ProtocolDetector.preface
        let startsWell = ProtocolDetector.agreesWithPreface(bytes, upTo: preface.count)
        var firstFrameEnd: Int?
        if startsWell, bytes.readableBytes >= preface.count + 9,
            let length = bytes.getInteger(at: bytes.readerIndex + preface.count, as: UInt32.self)
        {
            let end = preface.count + 9 + Int(length >> 8)
            if bytes.readableBytes >= end { firstFrameEnd = end }
        }
        if startsWell, firstFrameEnd == nil {
            self.buffered = bytes
            return
        }
        self.buffered = nil
        self.request = nil
        if let end = firstFrameEnd, let head = bytes.readSlice(length: end) {
            context.fireChannelRead(self.wrapInboundOut(head))
            context.fireChannelRead(self.wrapInboundOut(request))
        }
        if bytes.readableBytes > 0 {
            context.fireChannelRead(self.wrapInboundOut(bytes))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
