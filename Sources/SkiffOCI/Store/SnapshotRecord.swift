import Crypto
import Foundation
import NIOCore
public import SkiffArchive
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What an unpacked layer turned out to be, kept beside its snapshot as
/// `ROOT/sha256/<hex>.json`: the digest and length of its uncompressed stream.
///
/// An image's config names each layer's diff_id, and the per-image size limit counts
/// uncompressed bytes; both need these facts for a layer unpacked earlier, maybe for another
/// image, without reading the layer again.
public struct SnapshotRecord: Codable, Sendable, Hashable {
    /// SHA-256 of the uncompressed layer: what an image config's `rootfs.diff_ids` must list.
    public var diffID: Digest
    /// Length of the uncompressed layer (the tar stream), as the size limits count it.
    public var uncompressedSize: Int64

    public init(diffID: Digest, uncompressedSize: Int64) {
        self.diffID = diffID
        self.uncompressedSize = uncompressedSize
    }

    /// Reads the record at `path`; nil when there is none (a snapshot unpacked before records
    /// existed, or a crash between the snapshot's rename and the record's).
    static func read(at path: FilePath) -> SnapshotRecord? {
        guard let data = FileManager.default.contents(atPath: path.string) else { return nil }
        return try? JSONDecoder().decode(SnapshotRecord.self, from: data)
    }

    /// Writes the record through a temporary file and a rename, so a reader sees all of it or nothing.
    func write(to path: FilePath) throws(OCIError) {
        let temporary = path.string + ".tmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        do {
            try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw OCIError(.io, "cannot write \(temporary)", cause: error)
        }
        guard rename(temporary, path.string) == 0 else {
            let failure = Errno(rawValue: errno)
            unlink(temporary)
            throw OCIError(.io, "cannot write \(path)", cause: failure)
        }
    }

    /// Hashes a layer blob's uncompressed stream without unpacking it: for snapshots that
    /// have no record yet. Blocking: call it from a thread pool.
    static func measure(layerAt path: FilePath, compression: LayerCompression) throws(OCIError) -> SnapshotRecord {
        let descriptor: SystemPackage.FileDescriptor
        do {
            descriptor = try SystemPackage.FileDescriptor.open(path, .readOnly, options: [.closeOnExec])
        } catch {
            throw OCIError(.io, "cannot open \(path)", cause: error)
        }
        defer { try? descriptor.close() }
        let hasher = SHA256LayerHasher()
        var size: Int64 = 0
        do throws(ArchiveError) {
            let file = FileByteSource(descriptor: descriptor)
            let source: any TarByteSource = compression == .gzip ? try GzipByteSource(upstream: file) : file
            var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
            while true {
                buffer.clear()
                let count = try source.read(into: &buffer)
                if count == 0 { break }
                size += Int64(count)
                buffer.withUnsafeReadableBytes { hasher.update($0) }
            }
        } catch {
            throw OCIError(.invalidLayer, "cannot read layer \(path): \(error.message)", cause: error)
        }
        return SnapshotRecord(diffID: hasher.digest, uncompressedSize: size)
    }
}

/// SHA-256 of a layer's uncompressed stream, fed by the unpacker as it reads: the layer's
/// diff_id once the unpack has finished.
public final class SHA256LayerHasher: LayerStreamHasher {
    private var hasher = SHA256()

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The digest of everything fed so far.
    public var digest: Digest { Digest(sha256: hasher.finalize()) }
}
