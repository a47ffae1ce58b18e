import NIOCore
import NIOEmbedded

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
