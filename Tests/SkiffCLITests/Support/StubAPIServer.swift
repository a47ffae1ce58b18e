import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers from a closure and records what it got,
/// so the API client can be tested against real sockets without a Skiff server.
final class StubAPIServer: Sendable {
    struct Request: Sendable {
        var method: HTTPMethod
        var uri: String
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    struct Reply: Sendable {
        var status: HTTPResponseStatus
        var body: String
        var contentType = "application/json"

        init(_ status: HTTPResponseStatus, _ body: String = "") {
            self.status = status
            self.body = body
        }
    }

    typealias Route = @Sendable (Request) -> Reply

    private let channel: any Channel
    private let recorded = Mutex<[Request]>([])
    let port: Int

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [Request] { recorded.withLock { $0 } }

    init(route: @escaping Route) async throws {
        let box = RecorderBox()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        Handler(route: route, record: { box.server?.record($0) }))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        box.server = self
    }

    /// Runs `body` against a fresh server and closes it afterwards, also when `body` throws.
    static func with<Result>(
        route: @escaping Route, _ body: (StubAPIServer) async throws -> Result
    ) async throws -> Result {
        let server = try await StubAPIServer(route: route)
        do {
            let result = try await body(server)
            await server.shutdown()
            return result
        } catch {
            await server.shutdown()
            throw error
        }
    }

    func record(_ request: Request) {
        recorded.withLock { $0.append(request) }
    }

    func shutdown() async {
        try? await channel.close()
    }

    /// Lets the handler reach the server, which exists only after the bind.
    private final class RecorderBox: @unchecked Sendable {
        weak var server: StubAPIServer?
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let route: Route
        let record: (Request) -> Void
        var current: Request?

        init(route: @escaping Route, record: @escaping (Request) -> Void) {
            self.route = route
            self.record = record
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                current = Request(method: head.method, uri: head.uri, headers: head.headers, body: [])
            case .body(let buffer):
                current?.body += Array(buffer.readableBytesView)
            case .end:
                guard let request = current else { return }
                current = nil
                record(request)
                let reply = route(request)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: reply.contentType)
                headers.add(name: "Content-Length", value: String(reply.body.utf8.count))
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: reply.status, headers: headers))),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
