import NIOPosix
public import SkiffArchive
public import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Unpacked layers: each layer blob is unpacked once into `ROOT/sha256/<hex>` and then
/// shared read-only, as an overlayfs lower directory, by every instance that needs it.
/// Beside each snapshot, `ROOT/sha256/<hex>.json` records its diff_id and uncompressed size
/// (``SnapshotRecord``).
///
/// Concurrent requests for the same layer wait for one unpack instead of racing. Every
/// unpack is bounded by the unpacker's ``UnpackLimits``; a layer that crosses one leaves no
/// snapshot, and the error says which limit, with its value.
public actor SnapshotStore {
    public nonisolated let root: FilePath
    private let blobs: BlobStore
    private let unpacker: LayerUnpacker
    private var waiting: [Digest: [CheckedContinuation<Void, any Error>]] = [:]
    private var records: [Digest: SnapshotRecord] = [:]

    public init(root: FilePath, blobs: BlobStore, unpacker: LayerUnpacker = LayerUnpacker()) throws(OCIError) {
        self.root = root
        self.blobs = blobs
        self.unpacker = unpacker
        try BlobStore.makeDirectory(root)
        try BlobStore.makeDirectory(root.appending("sha256"))
    }

    /// The bounds every unpack meets; callers apply ``UnpackLimits/maxImageBytes`` through
    /// `imageBytesRemaining`.
    public nonisolated var limits: UnpackLimits { unpacker.limits }

    /// Where the snapshot of this layer lives, whether or not it is unpacked yet.
    public nonisolated func path(for layer: Digest) -> FilePath {
        root.appending(layer.algorithm).appending(layer.encoded)
    }

    nonisolated func recordPath(for layer: Digest) -> FilePath {
        root.appending(layer.algorithm).appending(layer.encoded + ".json")
    }

    /// Whether the layer is already unpacked.
    public nonisolated func contains(_ layer: Digest) -> Bool {
        access(path(for: layer).string, F_OK) == 0
    }

    /// A layer ready to be a lower directory.
    public struct Prepared: Sendable, Hashable {
        /// The snapshot directory.
        public var path: FilePath
        /// Whether this call did the unpacking.
        public var unpacked: Bool
        /// The layer's diff_id and uncompressed size.
        public var record: SnapshotRecord
    }

    /// Unpacks the layer unless it already is; returns its snapshot directory and record.
    ///
    /// - Parameter imageBytesRemaining: what the image's other layers left of the per-image
    ///   limit; a layer already unpacked that is larger fails too (code ``OCIError/Code/limitExceeded``).
    @discardableResult
    public func prepare(_ layer: Descriptor, imageBytesRemaining: Int64? = nil) async throws(OCIError) -> Prepared {
        let destination = path(for: layer.digest)
        while true {
            if contains(layer.digest) {
                let record = try await record(for: layer)
                if let imageBytesRemaining, record.uncompressedSize > imageBytesRemaining {
                    throw OCIError(
                        .limitExceeded,
                        "layer \(layer.digest) is \(record.uncompressedSize) bytes uncompressed, more than the "
                            + "\(imageBytesRemaining) bytes its image's earlier layers left of the per-image size "
                            + "limit of \(limits.maxImageBytes) bytes")
                }
                return Prepared(path: destination, unpacked: false, record: record)
            }
            guard waiting[layer.digest] != nil else { break }
            do {
                try await withCheckedThrowingContinuation { waiting[layer.digest, default: []].append($0) }
            } catch let error as OCIError {
                // The unpack that failed was bounded by another image's budget, not this one's.
                if (error.cause as? ArchiveError)?.code == .imageSizeExceeded { continue }
                throw error
            } catch {
                throw OCIError(.io, "cannot unpack layer \(layer.digest)", cause: error)
            }
        }
        waiting[layer.digest] = []
        let result: Result<SnapshotRecord, OCIError>
        do {
            result = .success(try await unpack(layer, into: destination, imageBytesRemaining: imageBytesRemaining))
        } catch {
            result = .failure(error)
        }
        for waiter in waiting.removeValue(forKey: layer.digest) ?? [] {
            waiter.resume(with: result.map { _ in () }.mapError { $0 as any Error })
        }
        let record = try result.get()
        records[layer.digest] = record
        return Prepared(path: destination, unpacked: true, record: record)
    }

    /// The record of an unpacked layer: cached, read from disk, or (for a snapshot without
    /// one) measured from the blob and written.
    private func record(for layer: Descriptor) async throws(OCIError) -> SnapshotRecord {
        if let record = records[layer.digest] { return record }
        let path = recordPath(for: layer.digest)
        if let record = SnapshotRecord.read(at: path) {
            records[layer.digest] = record
            return record
        }
        let compression = try Self.compression(of: layer)
        let source = blobs.path(for: layer.digest)
        let record: SnapshotRecord
        do {
            record = try await NIOThreadPool.singleton.runIfActive {
                try SnapshotRecord.measure(layerAt: source, compression: compression)
            }
        } catch let error as OCIError {
            throw error
        } catch {
            throw OCIError(.io, "cannot read layer \(layer.digest)", cause: error)
        }
        try record.write(to: path)
        records[layer.digest] = record
        return record
    }

    private static func compression(of layer: Descriptor) throws(OCIError) -> LayerCompression {
        guard let compression = MediaType.layerCompression(layer.mediaType) else {
            throw OCIError(
                .unsupportedMediaType,
                "layer \(layer.digest) has media type \(layer.mediaType), which Skiff cannot unpack")
        }
        return compression == .gzip ? .gzip : .none
    }

    private func unpack(
        _ layer: Descriptor, into destination: FilePath, imageBytesRemaining: Int64?
    ) async throws(OCIError) -> SnapshotRecord {
        let compression = try Self.compression(of: layer)
        guard blobs.contains(layer.digest) else {
            throw OCIError(.blobUnknown, "layer \(layer.digest) is not in the store")
        }
        let source = blobs.path(for: layer.digest)
        let unpacker = self.unpacker
        let record: SnapshotRecord
        do {
            // Unpacking is blocking file I/O: keep it off the cooperative pool.
            record = try await NIOThreadPool.singleton.runIfActive {
                let hasher = SHA256LayerHasher()
                let stats = try unpacker.unpack(
                    layerAt: source, compression: compression, into: destination,
                    imageBytesRemaining: imageBytesRemaining, hasher: hasher)
                return SnapshotRecord(diffID: hasher.digest, uncompressedSize: stats.uncompressedBytes)
            }
        } catch let error as ArchiveError {
            throw Self.rejection(of: layer, source: source, error)
        } catch {
            throw OCIError(.io, "cannot unpack layer \(layer.digest)", cause: error)
        }
        // Without its record the snapshot is measured again from the blob when next needed.
        try? record.write(to: recordPath(for: layer.digest))
        return record
    }

    /// The unpacker's error as this store reports it: limits by their own code, the layer by
    /// its digest rather than its blob's path.
    private static func rejection(of layer: Descriptor, source: FilePath, _ error: ArchiveError) -> OCIError {
        let prefix = "layer \(source.string): "
        let detail = error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
        switch error.code {
        case .limitExceeded, .imageSizeExceeded, .expansionRatioExceeded:
            return OCIError(.limitExceeded, "layer \(layer.digest) rejected: \(detail)", cause: error)
        case .insufficientSpace:
            return OCIError(.insufficientSpace, "layer \(layer.digest) not unpacked: \(detail)", cause: error)
        default:
            return OCIError(.invalidLayer, "layer \(layer.digest) rejected: \(detail)", cause: error)
        }
    }
}
