import NIOCore

/// Allocates fixed-capacity ByteBuffers for source tests.
enum ByteBufferShim {
    static func make(capacity: Int) -> ByteBuffer {
        ByteBufferAllocator().buffer(capacity: capacity)
    }
}
