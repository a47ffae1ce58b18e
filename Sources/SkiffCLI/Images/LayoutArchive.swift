import Foundation
import NIOCore
import NIOPosix
import SkiffArchive

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An OCI image layout directory as a tar stream (an oci-archive), produced while it is
/// sent: headers from ``TarWriter``, file contents read from disk chunk by chunk.
///
/// The directory is listed once up front (``plan(directory:)``), which fixes the archive's
/// exact size so the upload can announce its `Content-Length`. `oci-layout` and `index.json`
/// come first, then the rest in path order, so a streaming reader sees the metadata before
/// the blobs. Owners are written as 0 and symlinks to regular files are followed: the archive
/// carries the layout's content, not the local machine's users or link structure.
struct LayoutArchive: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    struct Member: Sendable, Hashable {
        var entry: TarWriter.Entry
        /// The file to read the content from (the link target's path for a followed symlink).
        var source: String
    }

    let directory: String
    let members: [Member]
    /// The exact number of bytes the stream yields.
    let size: Int64
    /// Called with the running byte count after each chunk (for a progress line).
    var progress: @Sendable (Int64) -> Void = { _ in }

    /// Lists `directory`, checking that it looks like an OCI image layout.
    static func plan(directory: String) async throws(CLIError) -> LayoutArchive {
        let result: Result<LayoutArchive, CLIError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { Self.planSync(directory: directory) }
        } catch {
            throw CLIError(.io, "cannot read \(directory): \(error)", cause: error)
        }
        return try result.get()
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let archive: LayoutArchive
        var writer = TarWriter()
        var nextMember = 0
        var reader: FileChunkReader?
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await produce() else { return nil }
            archive.progress(writer.bytesWritten)
            return chunk
        }

        private mutating func produce() async throws -> ByteBuffer? {
            do {
                if let reader {
                    if let chunk = try await reader.next() { return try writer.content(chunk) }
                    self.reader = nil
                }
                guard nextMember < archive.members.count else {
                    guard !finished else { return nil }
                    finished = true
                    return try writer.finish()
                }
                let member = archive.members[nextMember]
                nextMember += 1
                let header = try writer.header(for: member.entry)
                if member.entry.contentSize > 0 {
                    reader = try FileChunkReader(path: member.source, size: member.entry.contentSize)
                }
                return header
            } catch let error as TarWriter.Failure {
                throw CLIError(.io, "cannot pack \(archive.directory): \(error.message)", cause: error)
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(archive: self)
    }
}
