import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

@testable import SkiffGateway

/// A TCP server that answers HTTP/1.1 request heads with exact bytes, for what NIO's HTTP
/// server would not write: a `101` with the next protocol's first bytes in the same write, or
/// chunked trailers.
final class RawBackend: Sendable {
    enum Behaviour: Sendable {
        /// Answers the first request head with `101 Switching Protocols` (`Upgrade: echo`) and
        /// ``RawBackend/greeting`` in one write, then echoes every byte it reads.
        case upgradeEcho
        /// Answers every request head (bodiless requests only) with these bytes and keeps the
        /// connection open.
        case canned(String)
    }

    static let switchingResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
    static let greeting = "hello-after-101"

    let name: String
    let port: Int
    private let state: NIOLockedValueBox<State>

    private struct State {
        var accepted = 0
        var connections: [ObjectIdentifier: any Channel] = [:]
        var heads: [String] = []
    }

    var backend: Backend {
        Backend(id: self.name, host: "127.0.0.1", port: self.port)
    }

    /// TCP connections accepted so far.
    var accepted: Int {
        self.state.withLockedValue { $0.accepted }
    }

    /// Connections open now.
    var openConnections: Int {
        self.state.withLockedValue { $0.connections.count }
    }

    /// Request heads received, as text, in order.
    var heads: [String] {
        self.state.withLockedValue { $0.heads }
    }

    private init(name: String, port: Int, state: NIOLockedValueBox<State>) {
        self.name = name
        self.port = port
        self.state = state
    }

    /// Closes every connection the backend has open, as an instance that goes away does.
    func closeConnections() {
        let channels = self.state.withLockedValue { Array($0.connections.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    static func with<T: Sendable>(
        name: String,
        behaviour: Behaviour,
        _ body: (RawBackend) async throws -> T
    ) async throws -> T {
        let state = NIOLockedValueBox(State())
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                state.withLockedValue { state in
                    state.accepted += 1
                    state.connections[id] = channel
                }
                channel.closeFuture.whenComplete { _ in
                    _ = state.withLockedValue { $0.connections.removeValue(forKey: id) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RawBackendHandler(behaviour: behaviour) { head in
                            state.withLockedValue { $0.heads.append(head) }
                        })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let backend = RawBackend(name: name, port: server.localAddress?.port ?? 0, state: state)
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

/// One connection of a ``RawBackend``.
private final class RawBackendHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let behaviour: RawBackend.Behaviour
    private let noteHead: (String) -> Void
    private var pending: [UInt8] = []
    private var switched = false

    init(behaviour: RawBackend.Behaviour, noteHead: @escaping (String) -> Void) {
        self.behaviour = behaviour
        self.noteHead = noteHead
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data)
        if self.switched {
            context.write(self.wrapOutboundOut(bytes), promise: nil)
            return
        }
        self.pending += bytes.readableBytesView
        while let end = Self.headEnd(in: self.pending) {
            let head = String(decoding: self.pending[..<end], as: UTF8.self)
            let rest = Array(self.pending[end...])
            self.pending = []
            self.noteHead(head)
            switch self.behaviour {
            case .upgradeEcho:
                // The greeting goes in the same write as the 101: a proxy must not lose it.
                let answer = RawBackend.switchingResponse + RawBackend.greeting
                context.write(self.wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
                self.switched = true
                if !rest.isEmpty { context.write(self.wrapOutboundOut(ByteBuffer(bytes: rest)), promise: nil) }
                return
            case .canned(let response):
                context.write(self.wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
                self.pending = rest
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The index just past the first `CRLF CRLF`, if the bytes hold a whole head.
    private static func headEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }
}
