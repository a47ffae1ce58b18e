import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

@testable import SkiffGateway

/// An h2c server standing in for an instance whose port is declared h2c (a gRPC server).
/// All of it runs on one event loop. Behaviour by path:
///
/// - `/never`: reads the request, signals `arrivals`, and never answers.
/// - `/gather?n=K`: holds its answer until K `/gather` streams are open at once, so it is
///   answered only if a proxy sends them concurrently.
/// - `/status-in-head`: a gRPC status in the response head (`grpc-status: 5`), then the end
///   without trailers, which reaches a proxy as a trailers-only answer does.
/// - anything else: `200`, `content-type` as the request's (or `text/plain`), the body
///   `h2 METHOD URI body-bytes=N`, and trailers `grpc-status: 0`, `x-trailer: yes`.
final class HTTP2TestBackend: Sendable {
    let name: String
    let port: Int
    let arrivals: Gate
    private let counts: NIOLockedValueBox<Counts>
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>

    struct Counts {
        /// TCP connections accepted.
        var accepted = 0
        /// Streams the peer opened.
        var streamsOpened = 0
        /// Streams that closed, answered or reset.
        var streamsClosed = 0
        /// Streams that closed before their response ended (reset by the peer).
        var streamsAbandoned = 0
    }

    var backend: Backend {
        Backend(id: self.name, host: "127.0.0.1", port: self.port)
    }

    var current: Counts {
        self.counts.withLockedValue { $0 }
    }

    /// Connections open now.
    var openConnections: Int {
        self.connections.withLockedValue { $0.count }
    }

    private init(
        name: String, port: Int, arrivals: Gate, counts: NIOLockedValueBox<Counts>,
        connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>
    ) {
        self.name = name
        self.port = port
        self.arrivals = arrivals
        self.counts = counts
        self.connections = connections
    }

    /// Announces a graceful close on every connection (GOAWAY, NO_ERROR, no stream refused),
    /// as a gRPC server does at its maximum connection age, and keeps the connections open.
    func sendGoAway() {
        let frame = HTTP2Frame(
            streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
        for channel in self.connections.withLockedValue({ Array($0.values) }) {
            channel.writeAndFlush(frame, promise: nil)
        }
    }

    /// Closes every connection, as an instance that goes away does.
    func closeConnections() {
        for channel in self.connections.withLockedValue({ Array($0.values) }) {
            channel.close(promise: nil)
        }
    }

    static func with<T: Sendable>(name: String, _ body: (HTTP2TestBackend) async throws -> T) async throws -> T {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let counts = NIOLockedValueBox(Counts())
        let arrivals = Gate()
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        let gathering = try await loop.submit { NIOLoopBound(Gathering(), eventLoop: loop) }.get()
        let server = try await ServerBootstrap(group: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counts.withLockedValue { $0.accepted += 1 }
                let id = ObjectIdentifier(channel)
                connections.withLockedValue { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in
                    _ = connections.withLockedValue { $0.removeValue(forKey: id) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        counts.withLockedValue { $0.streamsOpened += 1 }
                        return stream.eventLoop.makeCompletedFuture {
                            let pipeline = stream.pipeline.syncOperations
                            try pipeline.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                            try pipeline.addHandler(
                                HTTP2TestBackendStream(counts: counts, arrivals: arrivals, gathering: gathering.value))
                        }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let backend = HTTP2TestBackend(
            name: name, port: server.localAddress?.port ?? 0, arrivals: arrivals, counts: counts,
            connections: connections)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(backend))
        } catch {
            result = .failure(error)
        }
        backend.closeConnections()
        try? await server.close()
        return try result.get()
    }
}

/// `/gather` streams waiting for their company; on the backend's one loop.
private final class Gathering {
    var waiting: [() -> Void] = []
}

/// One stream of an ``HTTP2TestBackend``.
private final class HTTP2TestBackendStream: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let counts: NIOLockedValueBox<HTTP2TestBackend.Counts>
    private let arrivals: Gate
    private let gathering: Gathering
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var answered = false

    init(counts: NIOLockedValueBox<HTTP2TestBackend.Counts>, arrivals: Gate, gathering: Gathering) {
        self.counts = counts
        self.arrivals = arrivals
        self.gathering = gathering
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(let buffer):
            self.bodyBytes += buffer.readableBytes
        case .end:
            guard let head = self.head else { return }
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            switch path {
            case "/never":
                self.arrivals.signal()
            case "/status-in-head":
                self.answered = true
                let headers: HTTPHeaders = [
                    "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "not%20here",
                ]
                let responseHead = HTTPResponseHead(version: .http2, status: .ok, headers: headers)
                context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            case "/gather":
                let wanted = Int(head.uri.split(separator: "=").last ?? "1") ?? 1
                self.gathering.waiting.append { self.answer(head, context: context) }
                if self.gathering.waiting.count >= wanted {
                    let all = self.gathering.waiting
                    self.gathering.waiting = []
                    for answer in all { answer() }
                }
            default:
                self.answer(head, context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let abandoned = !self.answered
        self.counts.withLockedValue { counts in
            counts.streamsClosed += 1
            if abandoned { counts.streamsAbandoned += 1 }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        self.answered = true
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: head.headers.first(name: "content-type") ?? "text/plain")
        headers.add(name: "x-backend-protocol", value: "h2")
        let text = "h2 \(head.method.rawValue) \(head.uri) body-bytes=\(self.bodyBytes)"
        let responseHead = HTTPResponseHead(version: .http2, status: .ok, headers: headers)
        context.write(self.wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        let trailers: HTTPHeaders = ["grpc-status": "0", "x-trailer": "yes"]
        context.writeAndFlush(self.wrapOutboundOut(.end(trailers)), promise: nil)
    }
}
