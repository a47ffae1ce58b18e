import NIOCore
import NIOHTTP1
import NIOPosix

/// Opens a backend connection on a given event loop, with the HTTP client handlers and an
/// ``UpstreamHandler`` for the slot installed.
///
/// The default connects over TCP; tests substitute in-memory channels.
struct UpstreamConnector: Sendable {
    let connect: @Sendable (BackendSlot, any EventLoop) -> EventLoopFuture<any Channel>

    init(connect: @escaping @Sendable (BackendSlot, any EventLoop) -> EventLoopFuture<any Channel>) {
        self.connect = connect
    }

    /// TCP with `TCP_NODELAY`, bounded by `connectTimeout`.
    static func tcp(connectTimeout: TimeAmount) -> UpstreamConnector {
        UpstreamConnector { slot, eventLoop in
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
                    channel.eventLoop.makeCompletedFuture {
                        try Self.configure(channel.pipeline.syncOperations, for: slot)
                    }
                }
                .connect(to: address)
        }
    }

    /// Installs the backend-side handlers. Framing headers are set by the proxy, so the
    /// encoder leaves them alone; 1xx responses are dropped (the proxy answers
    /// `100-continue` to the client itself).
    static func configure(_ pipeline: ChannelPipeline.SynchronousOperations, for slot: BackendSlot) throws {
        var encoderConfiguration = HTTPRequestEncoder.Configuration()
        encoderConfiguration.automaticallySetFramingHeaders = false
        try pipeline.addHandler(HTTPRequestEncoder(configuration: encoderConfiguration))
        try pipeline.addHandler(
            ByteToMessageHandler(
                HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop))
        )
        try pipeline.addHandler(UpstreamHandler(slot: slot))
    }
}
