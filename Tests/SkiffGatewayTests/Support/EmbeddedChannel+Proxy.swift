import NIOCore
import NIOEmbedded

@testable import SkiffGateway

extension EmbeddedChannel {
    /// Everything written to the channel and not read yet, as text.
    func outboundText() throws -> String {
        var text = ""
        while let buffer = try self.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }
}

extension EmbeddedChannel {
    /// A client connection on `loop`, from 192.0.2.1:40000, whose proxy handler routes by
    /// `table` over `pool`; `first` handlers go in front of it.
    static func proxyClient(
        loop: EmbeddedEventLoop, table: RoutingTable, pool: UpstreamPool, first: [any ChannelHandler] = []
    ) throws -> EmbeddedChannel {
        let client = EmbeddedChannel(loop: loop)
        for handler in first { try client.pipeline.syncOperations.addHandler(handler) }
        try ProxyHandler.configure(
            client.pipeline.syncOperations,
            loop: LoopContext(table: table, pool: pool),
            domain: "localhost",
            observer: nil,
            logger: quietLogger
        )
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 40000)).wait()
        return client
    }
}
