public import NIOCore

/// Serves an archive held in memory; for small archives and tests.
public final class MemoryByteSource: TarByteSource {
    private var remaining: ByteBuffer

    /// Serves the readable bytes of `bytes`.
    public init(_ bytes: ByteBuffer) {
        self.remaining = bytes
    }

    /// Serves `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init(ByteBuffer(bytes: bytes))
    }

    public func read(into buffer: inout ByteBuffer) throws(ArchiveError) -> Int {
        if buffer.writableBytes == 0 { buffer.reserveCapacity(minimumWritableBytes: 1) }
        let count = min(buffer.writableBytes, remaining.readableBytes)
        guard count > 0, var slice = remaining.readSlice(length: count) else { return 0 }
        return buffer.writeBuffer(&slice)
    }
}
