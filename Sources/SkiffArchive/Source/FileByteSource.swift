public import NIOCore
public import SystemPackage

/// Reads an archive from an open file descriptor with large `read(2)` calls.
///
/// The descriptor is borrowed: the caller keeps ownership and closes it.
public final class FileByteSource: TarByteSource {
    private let descriptor: SystemPackage.FileDescriptor

    /// Wraps `descriptor`, reading from its current offset.
    public init(descriptor: SystemPackage.FileDescriptor) {
        self.descriptor = descriptor
    }

    public func read(into buffer: inout ByteBuffer) throws(ArchiveError) -> Int {
        let descriptor = self.descriptor
        do {
            return try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { pointer in
                try descriptor.read(into: pointer, retryOnInterrupt: true)
            }
        } catch {
            throw ArchiveError(.io, "cannot read archive", cause: error)
        }
    }
}
