import NIOCore

/// One end of a protocol-switched exchange (a WebSocket, after `101 Switching Protocols`):
/// bytes read on this channel are written to the partner's, as they come.
///
/// Sits in front of the handler that owns the exchange on each side (``ProxyHandler`` on the
/// client connection, ``UpstreamHandler`` on the instance's), which keep what they did for
/// HTTP: they hold reads while the other side cannot take writes, answer closes and
/// timeouts by ending the exchange, and settle its capacity. Both channels share one event
/// loop, so handing bytes across is a method call.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The other end; cleared when either channel goes away, which breaks the cycle.
    var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private let onActivity: () -> Void

    /// - Parameter onActivity: called for every read, so the exchange's idle timeout restarts.
    init(onActivity: @escaping () -> Void) {
        self.onActivity = onActivity
    }

    /// Joins two ends.
    static func pair(onActivity: @escaping () -> Void) -> (client: TunnelHandler, upstream: TunnelHandler) {
        let client = TunnelHandler(onActivity: onActivity)
        let upstream = TunnelHandler(onActivity: onActivity)
        client.partner = upstream
        upstream.partner = client
        return (client, upstream)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner?.partner = nil
        self.partner = nil
    }

    /// Sends bytes this end received before it joined the pipeline (read by the HTTP side
    /// behind the switch) on to the partner, as if read here.
    func forwardToPartner(_ bytes: ByteBuffer) {
        self.onActivity()
        self.partner?.context?.writeAndFlush(NIOAny(bytes), promise: nil)
    }

    /// Written and flushed at once, not at the end of the read burst: tunnels carry messages,
    /// not bulk, so the extra flushes of a busy burst cost little, and nothing else would
    /// flush the bytes handed over by ``forwardToPartner(_:)`` outside any read.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.onActivity()
        self.partner?.context?.writeAndFlush(data, promise: nil)
    }
}
