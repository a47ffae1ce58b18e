import NIOPosix
public import SkiffArchive
public import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Unpacked layers: each layer blob is unpacked once into `ROOT/sha256/<hex>` and then
/// shared read-only, as an overlayfs lower directory, by every instance that needs it.
///
/// Concurrent requests for the same layer wait for one unpack instead of racing.
public actor SnapshotStore {
    public nonisolated let root: FilePath
    private let blobs: BlobStore
    private let unpacker: LayerUnpacker
    private var waiting: [Digest: [CheckedContinuation<Void, any Error>]] = [:]

    public init(root: FilePath, blobs: BlobStore, unpacker: LayerUnpacker = LayerUnpacker()) throws(OCIError) {
        self.root = root
        self.blobs = blobs
        self.unpacker = unpacker
        try BlobStore.makeDirectory(root)
        try BlobStore.makeDirectory(root.appending("sha256"))
    }

    /// Where the snapshot of this layer lives, whether or not it is unpacked yet.
    public nonisolated func path(for layer: Digest) -> FilePath {
        root.appending(layer.algorithm).appending(layer.encoded)
    }

    /// Whether the layer is already unpacked.
    public nonisolated func contains(_ layer: Digest) -> Bool {
        access(path(for: layer).string, F_OK) == 0
    }

    /// Unpacks the layer unless it already is; returns its snapshot directory.
    ///
    /// Returns `true` in `unpacked` when this call did the work.
    @discardableResult
    public func prepare(_ layer: Descriptor) async throws(OCIError) -> (path: FilePath, unpacked: Bool) {
        let destination = path(for: layer.digest)
        if contains(layer.digest) { return (destination, false) }
        if waiting[layer.digest] != nil {
            do {
                try await withCheckedThrowingContinuation { waiting[layer.digest, default: []].append($0) }
            } catch let error as OCIError {
                throw error
            } catch {
                throw OCIError(.io, "cannot unpack layer \(layer.digest)", cause: error)
            }
            return (destination, false)
        }
        waiting[layer.digest] = []
        let result: Result<Void, OCIError>
        do {
            try await unpack(layer, into: destination)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        for waiter in waiting.removeValue(forKey: layer.digest) ?? [] {
            waiter.resume(with: result.mapError { $0 as any Error })
        }
        try result.get()
        return (destination, true)
    }

    private func unpack(_ layer: Descriptor, into destination: FilePath) async throws(OCIError) {
        guard let compression = MediaType.layerCompression(layer.mediaType) else {
            throw OCIError(
                .unsupportedMediaType,
                "layer \(layer.digest) has media type \(layer.mediaType), which Skiff cannot unpack")
        }
        guard blobs.contains(layer.digest) else {
            throw OCIError(.blobUnknown, "layer \(layer.digest) is not in the store")
        }
        let source = blobs.path(for: layer.digest)
        let unpacker = self.unpacker
        do {
            // Unpacking is blocking file I/O: keep it off the cooperative pool.
            try await NIOThreadPool.singleton.runIfActive {
                _ = try unpacker.unpack(
                    layerAt: source, compression: compression == .gzip ? .gzip : .none, into: destination)
            }
        } catch let error as ArchiveError {
            throw OCIError(.invalidLayer, "layer \(layer.digest) rejected: \(error)", cause: error)
        } catch {
            throw OCIError(.io, "cannot unpack layer \(layer.digest)", cause: error)
        }
    }
}
