import NIOCore
import SkiffHTTP1

/// What both ends of an HTTP/1 exchange write and keep alike: chunked framing, and the bytes
/// read but not parsed yet.
extension ChannelHandlerContext {
    private static let crlf = ByteBuffer(string: "\r\n")

    /// Writes `data` as one chunk of a chunked body: its size line, the bytes themselves (not
    /// copied) and CRLF. Nothing for no bytes: an empty chunk would end the body.
    func writeHTTP1Chunk(_ data: ByteBuffer) {
        guard data.readableBytes > 0 else { return }
        var size = self.channel.allocator.buffer(capacity: 18)
        size.writeHTTP1ChunkHeader(size: data.readableBytes)
        self.write(NIOAny(size), promise: nil)
        self.write(NIOAny(data), promise: nil)
        self.write(NIOAny(Self.crlf), promise: nil)
    }

    /// The last chunk of a chunked body, with its trailers.
    func lastHTTP1Chunk(_ trailers: HTTP1Headers?) -> ByteBuffer {
        var last = self.channel.allocator.buffer(capacity: 5 + (trailers?.estimatedSize ?? 0))
        last.writeHTTP1LastChunk(trailers: trailers)
        return last
    }
}

extension Optional where Wrapped == ByteBuffer {
    /// The bytes kept from earlier reads, then `bytes`; nothing is kept any more.
    mutating func take(appending bytes: ByteBuffer) -> ByteBuffer {
        guard var kept = self else { return bytes }
        self = nil
        var bytes = bytes
        kept.writeBuffer(&bytes)
        return kept
    }
}
