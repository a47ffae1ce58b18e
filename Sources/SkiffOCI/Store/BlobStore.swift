import Crypto
import Foundation
public import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Content-addressed blobs on disk: `ROOT/sha256/<hex>`, written once, never modified.
///
/// A blob becomes visible only after its bytes hashed to the expected digest, were fsynced
/// and renamed into place, so a crash or a bad upload never leaves a half-written or wrong
/// blob under a digest name.
public struct BlobStore: Sendable {
    public let root: FilePath

    /// Creates the directory layout under `root` (mode 0700: blobs may hold private images).
    public init(root: FilePath) throws(OCIError) {
        self.root = root
        for directory in [root, root.appending("sha256"), root.appending("sha512"), root.appending("ingest")] {
            try Self.makeDirectory(directory)
        }
    }

    static func makeDirectory(_ path: FilePath) throws(OCIError) {
        if mkdir(path.string, 0o700) != 0 && errno != EEXIST {
            throw OCIError(.io, "cannot create directory \(path)", cause: Errno(rawValue: errno))
        }
    }

    /// Where the blob with this digest lives (whether or not it exists).
    public func path(for digest: Digest) -> FilePath {
        root.appending(digest.algorithm).appending(digest.encoded)
    }

    /// The size of a stored blob, or nil when it is not stored.
    public func size(of digest: Digest) -> Int64? {
        var info = stat()
        guard stat(path(for: digest).string, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    public func contains(_ digest: Digest) -> Bool { size(of: digest) != nil }

    /// Reads a whole blob; for manifests and configs, which are small.
    public func read(_ digest: Digest, limit: Int = 4 << 20) throws(OCIError) -> [UInt8] {
        let path = path(for: digest)
        do {
            let fd = try FileDescriptor.open(path, .readOnly)
            defer { try? fd.close() }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
                if n == 0 { break }
                bytes.append(contentsOf: chunk[0..<n])
                guard bytes.count <= limit else {
                    throw OCIError(.invalidManifest, "blob \(digest) is larger than \(limit) bytes")
                }
            }
            return bytes
        } catch let error as OCIError {
            throw error
        } catch Errno.noSuchFileOrDirectory {
            throw OCIError(.blobUnknown, "blob \(digest) is not in the store")
        } catch {
            throw OCIError(.io, "cannot read blob \(digest)", cause: error)
        }
    }

    /// Stores `bytes`, verifying them against `expected` when given; returns the digest.
    @discardableResult
    public func put(_ bytes: some Collection<UInt8>, expected: Digest? = nil) throws(OCIError) -> Digest {
        let writer = try ingest(expected: expected, expectedSize: expected == nil ? nil : Int64(bytes.count))
        do throws(OCIError) {
            try writer.write(Array(bytes))
            return try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }

    /// Starts writing a blob whose bytes arrive in pieces (an upload, a file copy).
    public func ingest(expected: Digest?, expectedSize: Int64?) throws(OCIError) -> BlobWriter {
        try BlobWriter(store: self, expected: expected, expectedSize: expectedSize)
    }

    /// Deletes temporary files of writes a previous process never finished. Call once at
    /// start, before anything ingests.
    public func removeAbandonedWrites() {
        let ingest = root.appending("ingest").string
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: ingest) else { return }
        for name in names { unlink(ingest + "/" + name) }
    }

    /// Removes a blob; removing one that is not there is not an error.
    public func remove(_ digest: Digest) {
        unlink(path(for: digest).string)
    }
}

/// One blob being written: hashes while it writes, becomes visible only on `commit()`.
///
/// Not thread-safe: one writer is used by one task at a time.
public final class BlobWriter {
    private let store: BlobStore
    private var expected: Digest?
    private let expectedSize: Int64?
    private let temporaryPath: FilePath
    private var descriptor: FileDescriptor?
    private var hasher = SHA256()
    public private(set) var written: Int64 = 0

    init(store: BlobStore, expected: Digest?, expectedSize: Int64?) throws(OCIError) {
        if let expected, expected.algorithm != "sha256" {
            throw OCIError(.invalidDigest, "digest \(expected): only sha256 content can be stored")
        }
        self.store = store
        self.expected = expected
        self.expectedSize = expectedSize
        var random = SystemRandomNumberGenerator()
        self.temporaryPath = store.root.appending("ingest").appending(
            "\(String(random.next(), radix: 16))-\(String(random.next(), radix: 16))")
        do {
            self.descriptor = try FileDescriptor.open(
                temporaryPath, .writeOnly, options: [.create, .exclusiveCreate], permissions: [.ownerReadWrite])
        } catch {
            throw OCIError(.io, "cannot create \(temporaryPath)", cause: error)
        }
    }

    /// Appends bytes; fails as soon as more arrive than the declared size.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(OCIError) {
        guard let descriptor else { throw OCIError(.io, "blob writer is closed") }
        written += Int64(bytes.count)
        if let expectedSize, written > expectedSize {
            throw OCIError(
                .sizeMismatch,
                "blob \(expected.map { "\($0)" } ?? "") is longer than its declared \(expectedSize) bytes")
        }
        hasher.update(bufferPointer: bytes)
        do {
            _ = try descriptor.writeAll(bytes)
        } catch {
            throw OCIError(.io, "cannot write \(temporaryPath)", cause: error)
        }
    }

    public func write(_ bytes: [UInt8]) throws(OCIError) {
        // withUnsafeBytes rethrows untyped errors; carry the typed one out by hand.
        var failure: OCIError?
        bytes.withUnsafeBytes { buffer in
            do throws(OCIError) { try write(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Verifies size and digest, fsyncs and renames into place. Consumes the writer.
    public func commit() throws(OCIError) -> Digest {
        guard let descriptor else { throw OCIError(.io, "blob writer is closed") }
        self.descriptor = nil
        let digest = Digest(sha256: hasher.finalize())
        do throws(OCIError) {
            if let expectedSize, written != expectedSize {
                throw OCIError(
                    .sizeMismatch,
                    "blob \(expected.map { "\($0)" } ?? "\(digest)") is \(written) bytes, declared \(expectedSize)")
            }
            if let expected, expected != digest {
                throw OCIError(.digestMismatch, "content does not match digest \(expected): it hashes to \(digest)")
            }
            do {
                guard fsync(descriptor.rawValue) == 0 else { throw Errno(rawValue: errno) }
                try descriptor.close()
            } catch {
                throw OCIError(.io, "cannot flush \(temporaryPath)", cause: error)
            }
            // Another writer may have stored the same content meanwhile; rename replaces it
            // atomically with identical bytes.
            guard rename(temporaryPath.string, store.path(for: digest).string) == 0 else {
                throw OCIError(.io, "cannot store blob \(digest)", cause: Errno(rawValue: errno))
            }
            return digest
        } catch {
            try? descriptor.close()
            unlink(temporaryPath.string)
            throw error
        }
    }

    /// Commits against a digest learned only at the end (a registry upload's `?digest=`).
    public func commit(expecting digest: Digest) throws(OCIError) -> Digest {
        guard digest.algorithm == "sha256" else {
            abort()
            throw OCIError(.invalidDigest, "digest \(digest): only sha256 content can be stored")
        }
        expected = digest
        return try commit()
    }

    /// Drops everything written so far.
    public func abort() {
        if let descriptor { try? descriptor.close() }
        unlink(temporaryPath.string)
        self.descriptor = nil
    }

    deinit {
        if let descriptor {
            try? descriptor.close()
            unlink(temporaryPath.string)
        }
    }
}
