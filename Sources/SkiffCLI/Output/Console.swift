import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Unbuffered writes to stdout and stderr, so streamed logs, progress and results interleave
/// in the order they were written.
enum Console {
    static func out(_ text: String) {
        emit(text, to: STDOUT_FILENO)
    }

    static func out(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { writeAll($0, to: STDOUT_FILENO) }
    }

    static func error(_ text: String) {
        emit(text, to: STDERR_FILENO)
    }

    /// Progress goes to stderr only when a person watches it there.
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    private static func emit(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: fd) }
    }

    private static func writeAll(_ buffer: UnsafeRawBufferPointer, to fd: Int32) {
        guard var base = buffer.baseAddress else { return }
        var remaining = buffer.count
        while remaining > 0 {
            let written = write(fd, base, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                return  // a closed pipe (`skiff logs | head`): nothing more to say
            }
            remaining -= written
            base += written
        }
    }
}
