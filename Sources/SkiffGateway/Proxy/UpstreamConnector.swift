import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// Opens a backend connection on a given event loop, with the HTTP client handlers and an
/// ``UpstreamHandler`` for the slot installed.
///
/// The default connects over TCP; tests substitute in-memory channels.
struct UpstreamConnector: Sendable {
    let connect: @Sendable (BackendSlot, any EventLoop) -> EventLoopFuture<any Channel>
    /// An HTTP/2 (h2c) connection with its stream multiplexer, for instances that speak it.
    let connectHTTP2: @Sendable (BackendSlot, any EventLoop) -> EventLoopFuture<any Channel>

    init(
        connect: @escaping @Sendable (BackendSlot, any EventLoop) -> EventLoopFuture<any Channel>,
        connectHTTP2: (@Sendable (BackendSlot, any EventLoop) -> EventLoopFuture<any Channel>)? = nil
    ) {
        self.connect = connect
        self.connectHTTP2 =
            connectHTTP2 ?? { _, eventLoop in
                eventLoop.makeFailedFuture(
                    GatewayError(code: .invalidBackend, message: "this connector does not speak HTTP/2"))
            }
    }

    /// TCP with `TCP_NODELAY`, bounded by `connectTimeout`.
    static func tcp(connectTimeout: TimeAmount) -> UpstreamConnector {
        @Sendable func connect(
            _ slot: BackendSlot, _ eventLoop: any EventLoop,
            configure: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
        ) -> EventLoopFuture<any Channel> {
            guard let address = slot.address else {
                return eventLoop.makeFailedFuture(
                    GatewayError(
                        code: .invalidBackend,
                        message:
                            "backend \(slot.backend.id) has no usable IPv4 address: \(slot.backend.host):\(slot.backend.port)"
                    )
                )
            }
            return ClientBootstrap(group: eventLoop)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try configure(channel.pipeline.syncOperations) }
                }
                .connect(to: address)
        }
        return UpstreamConnector(
            connect: { slot, eventLoop in
                connect(slot, eventLoop) { try Self.configure($0, for: slot) }
            },
            connectHTTP2: { slot, eventLoop in
                connect(slot, eventLoop) { try Self.configureHTTP2($0) }
            }
        )
    }

    /// The client side of HTTP/2 with prior knowledge; each request opens a stream on it
    /// (``streamInitializer(for:)``). An instance has no business opening streams itself.
    static func configureHTTP2(_ pipeline: ChannelPipeline.SynchronousOperations) throws {
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
        ) { stream in
            stream.close()
        }
        try pipeline.addHandler(HTTP2GoAwayObserver())
        // A connection error closes the connection, so every stream on it ends (and its
        // request is answered) instead of waiting for a HEADERS frame that was refused.
        try pipeline.addHandler(HTTP2ConnectionErrorHandler())
    }

    /// Installs the HTTP/1-to-HTTP/2 codec and an ``UpstreamHandler`` on a new stream.
    static func streamInitializer(for slot: BackendSlot) -> NIOChannelInitializer {
        { stream in
            stream.eventLoop.makeCompletedFuture {
                let pipeline = stream.pipeline.syncOperations
                try pipeline.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                try pipeline.addHandler(UpstreamHandler(slot: slot, isStream: true))
            }
        }
    }

    /// Installs the backend-side handler of an HTTP/1.1 connection: the only one it needs.
    static func configure(_ pipeline: ChannelPipeline.SynchronousOperations, for slot: BackendSlot) throws {
        try pipeline.addHandler(UpstreamHandler(slot: slot))
    }
}

/// Tells the pool when an instance winds a connection down (GOAWAY, as gRPC servers do at
/// their maximum connection age): the streams it has finish, new ones go on a new connection.
final class HTTP2GoAwayObserver: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    /// Set by the pool once the connection is up; called on the connection's loop.
    var onGoAway: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goAway = self.unwrapInboundIn(data).payload, let onGoAway = self.onGoAway {
            self.onGoAway = nil
            onGoAway()
        }
        context.fireChannelRead(data)
    }
}
