import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads exactly `size` bytes of a file in chunks on NIO's thread pool, so a multi-GiB blob
/// is never held in memory and no reading blocks a Swift concurrency thread.
///
/// A file that is shorter than announced when read is an error (the archive header already
/// promised `size` bytes); bytes past `size` are ignored.
final class FileChunkReader {
    /// Chunk size: large enough for few syscalls, small enough to stream.
    static let chunkSize = 256 * 1024

    let path: String
    let size: Int64
    private var descriptor: Int32
    private var offset: Int64 = 0

    init(path: String, size: Int64) throws(CLIError) {
        self.path = path
        self.size = size
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CLIError(.io, "cannot open \(path): \(String(cString: strerror(errno)).lowercased())")
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The next chunk, or `nil` once `size` bytes were read (the file is then closed).
    func next() async throws(CLIError) -> ByteBuffer? {
        guard offset < size else {
            closeFile()
            return nil
        }
        let count = Int(min(Int64(Self.chunkSize), size - offset))
        let fd = descriptor
        let start = offset
        let result: Result<ByteBuffer, CLIError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { Self.read(fd, at: start, count: count) }
        } catch {
            throw CLIError(.io, "cannot read \(path): \(error)", cause: error)
        }
        let buffer = try result.get()
        guard buffer.readableBytes > 0 else {
            closeFile()
            throw CLIError(.io, "\(path) got shorter while being sent (expected \(size) bytes, found \(offset))")
        }
        offset += Int64(buffer.readableBytes)
        return buffer
    }

    private func closeFile() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    private static func read(_ fd: Int32, at offset: Int64, count: Int) -> Result<ByteBuffer, CLIError> {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var failure: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            while true {
                let read = pread(fd, pointer.baseAddress, count, off_t(offset))
                if read >= 0 { return read }
                if errno != EINTR {
                    failure = errno
                    return 0
                }
            }
        }
        guard failure == 0 else {
            return .failure(CLIError(.io, "cannot read: \(String(cString: strerror(failure)).lowercased())"))
        }
        return .success(buffer)
    }
}
