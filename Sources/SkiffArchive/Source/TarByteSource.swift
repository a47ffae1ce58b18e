public import NIOCore

/// A pull-based producer of (decompressed) archive bytes that ``TarReader`` reads from.
///
/// Sources fill the caller's buffer in place so the data path has no extra copies: a file
/// source `read(2)`s straight into it, the gzip source inflates straight into it.
public protocol TarByteSource: AnyObject {
    /// Appends up to `buffer.writableBytes` bytes (at least one byte of space is ensured by
    /// growing the buffer if it has none) and returns how many; 0 means end of stream.
    func read(into buffer: inout ByteBuffer) throws(ArchiveError) -> Int
}
