import CompressNIO
public import NIOCore

/// Inflates a gzip stream from another source, streaming with a fixed-size input buffer.
///
/// Concatenated gzip members (as `pigz`/`cat a.gz b.gz` produce) are read as one stream, as
/// Go's `compress/gzip` does. The stream must end cleanly: data after the last member that
/// is not another gzip member, a corrupt member (zlib also checks each member's CRC-32 and
/// length trailer) or an end of input inside a member is an error.
public final class GzipByteSource: TarByteSource {
    private let upstream: any TarByteSource
    private let decompressor: ZlibDecompressor
    private var input: ByteBuffer
    private var upstreamEnded = false
    /// The current member has ended (zlib returned Z_STREAM_END).
    private var memberEnded = false

    /// Wraps `upstream`; `inputBufferSize` bounds the compressed bytes held in memory.
    public init(upstream: any TarByteSource, inputBufferSize: Int = 1 << 20) throws(ArchiveError) {
        self.upstream = upstream
        do {
            self.decompressor = try ZlibDecompressor(algorithm: .gzip, windowSize: 15)
        } catch {
            throw ArchiveError(.decompression, "cannot initialise gzip decompressor", cause: error)
        }
        self.input = ByteBufferAllocator().buffer(capacity: max(inputBufferSize, 4096))
    }

    public func read(into buffer: inout ByteBuffer) throws(ArchiveError) -> Int {
        if buffer.writableBytes == 0 { buffer.reserveCapacity(minimumWritableBytes: 1) }
        let start = buffer.writerIndex
        while buffer.writableBytes > 0 {
            if memberEnded {
                // Either the end of the stream, or the next concatenated member.
                guard try ensureInput(2) else {
                    if input.readableBytes == 0 { break }
                    throw ArchiveError(.decompression, "unexpected data after the end of the gzip stream")
                }
                let view = input.readableBytesView
                guard view[view.startIndex] == 0x1f, view[view.startIndex + 1] == 0x8b else {
                    throw ArchiveError(.decompression, "unexpected data after the end of the gzip stream")
                }
                do { try decompressor.reset() } catch {
                    throw ArchiveError(.decompression, "cannot reset gzip decompressor", cause: error)
                }
                memberEnded = false
            }
            if input.readableBytes == 0, try !ensureInput(1) {
                // End of input: fine only if zlib has already seen the member's end.
                switch try probeMemberEnded(&buffer) {
                case true?:
                    memberEnded = true
                    continue
                case nil:
                    return buffer.writerIndex - start
                case false?:
                    break
                }
                throw ArchiveError(.truncated, "gzip stream ends early (truncated layer)")
            }
            do {
                try decompressor.inflate(from: &input, to: &buffer)
                // No error with input left over means Z_STREAM_END. With no input left it
                // may also be Z_OK; the next round tells (more input, or the probe at EOF).
                if input.readableBytes > 0 { memberEnded = true }
            } catch let error as CompressNIOError where error == .bufferOverflow {
                break
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                continue
            } catch {
                throw ArchiveError(.decompression, "corrupt gzip stream", cause: error)
            }
        }
        return buffer.writerIndex - start
    }

    /// Calls zlib with no input: it reports Z_STREAM_END (without output) only if the member
    /// is complete, and Z_BUF_ERROR (no progress possible) if it still needs input. `nil`
    /// means zlib still had buffered output and `buffer` filled up: ask again later.
    private func probeMemberEnded(_ buffer: inout ByteBuffer) throws(ArchiveError) -> Bool? {
        var empty = ByteBufferAllocator().buffer(capacity: 16)
        while true {
            let before = buffer.writerIndex
            do {
                try decompressor.inflate(from: &empty, to: &buffer)
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                return false
            } catch let error as CompressNIOError where error == .bufferOverflow {
                return nil
            } catch {
                throw ArchiveError(.decompression, "corrupt gzip stream", cause: error)
            }
            if buffer.writerIndex == before { return true }
        }
    }

    /// Tops up `input` until it holds `count` bytes; false if upstream ended first.
    private func ensureInput(_ count: Int) throws(ArchiveError) -> Bool {
        while input.readableBytes < count {
            if upstreamEnded { return false }
            input.discardReadBytes()
            if try upstream.read(into: &input) == 0 { upstreamEnded = true }
        }
        return true
    }
}
