import NIOCore

/// A file's bytes as an async sequence of chunks, for a request body that streams an
/// oci-archive from disk as it is.
struct FileStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let path: String
    let size: Int64
    /// Called with the running byte count after each chunk (for a progress line).
    let progress: @Sendable (Int64) -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        let stream: FileStream
        var reader: FileChunkReader?
        var started = false
        var sent: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            if !started {
                started = true
                reader = try FileChunkReader(path: stream.path, size: stream.size)
            }
            guard let reader, let chunk = try await reader.next() else {
                self.reader = nil
                return nil
            }
            sent += Int64(chunk.readableBytes)
            stream.progress(sent)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self)
    }
}
