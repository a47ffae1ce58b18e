public import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Unpacks one OCI layer blob into a snapshot directory meant to be an overlayfs lowerdir.
///
/// All-or-nothing: the layer is unpacked into a sibling temporary directory
/// (`destination` + `.tmp-<random>`) that is renamed into place only when every entry was
/// applied; on any error the temporary directory is removed, so a rejected layer leaves no
/// partial snapshot.
///
/// Hostile input is rejected, never sanitised: absolute or `..` paths, writes through
/// symlinks, symlinks whose relative target climbs out of the root, hardlinks to anything
/// but a regular file already unpacked, device nodes and FIFOs, malformed whiteouts,
/// `proc`/`sys`/`dev` links, truncated or oversized archives (see ``UnpackLimits``).
/// Decompression bombs stop at the first byte past the per-layer size, the image's remaining
/// budget or the expansion ratio, and before the snapshot filesystem reaches its free-space
/// reserve; the partial snapshot is removed like any other rejected layer's.
/// OCI whiteouts become overlay whiteouts (0:0 character devices, `trusted.overlay.opaque`).
/// Owners, modes (setuid/setgid/sticky included), mtimes and xattrs are preserved; this
/// needs root (CAP_CHOWN, CAP_MKNOD, CAP_SYS_ADMIN for `trusted.*`).
///
/// Synchronous and blocking: call it from a thread pool, not an event loop.
public struct LayerUnpacker: Sendable {
    /// Bounds applied to every layer.
    public var limits: UnpackLimits
    /// Read and decompression buffer size; also the largest `write(2)`.
    public var bufferSize: Int

    /// Creates an unpacker.
    public init(limits: UnpackLimits = .init(), bufferSize: Int = 1 << 20) {
        self.limits = limits
        self.bufferSize = bufferSize
    }

    /// Unpacks the layer at `source` into `destination`, which must not exist (its parent
    /// must). Errors name the layer and the offending entry.
    ///
    /// - Parameters:
    ///   - imageBytesRemaining: what the image's other layers left of
    ///     ``UnpackLimits/maxImageBytes``; nil when the layer is unpacked for no image yet.
    ///   - hasher: sees the whole uncompressed stream, for the layer's diff_id.
    @discardableResult
    public func unpack(
        layerAt source: FilePath, compression: LayerCompression, into destination: FilePath,
        imageBytesRemaining: Int64? = nil, hasher: (any LayerStreamHasher)? = nil
    ) throws(ArchiveError) -> UnpackStats {
        do {
            return try unpackUnprefixed(
                layerAt: source, compression: compression, into: destination,
                imageBytesRemaining: imageBytesRemaining, hasher: hasher)
        } catch {
            throw error.prefixed("layer \(source.string)")
        }
    }

    private func unpackUnprefixed(
        layerAt source: FilePath, compression: LayerCompression, into destination: FilePath,
        imageBytesRemaining: Int64?, hasher: (any LayerStreamHasher)?
    ) throws(ArchiveError) -> UnpackStats {
        var info = stat()
        if lstat(destination.string, &info) == 0 {
            throw ArchiveError(.destinationExists, "snapshot destination `\(destination.string)` already exists")
        }
        let input: FileDescriptor
        do {
            input = try FileDescriptor.open(source, .readOnly, options: [.closeOnExec])
        } catch {
            throw ArchiveError(.io, "cannot open layer", cause: error)
        }
        defer { try? input.close() }

        let temporary = try makeTemporaryDirectory(next: destination)
        do {
            let stats = try unpack(
                input, compression: compression, into: temporary, imageBytesRemaining: imageBytesRemaining,
                hasher: hasher)
            try Syscall.renameNoReplace(temporary, destination.string)
            return stats
        } catch {
            try? Syscall.removeTree(AT_FDCWD, temporary)
            throw error
        }
    }

    private func unpack(
        _ input: FileDescriptor, compression: LayerCompression, into directory: String, imageBytesRemaining: Int64?,
        hasher: (any LayerStreamHasher)?
    ) throws(ArchiveError) -> UnpackStats {
        let root = open(directory, Syscall.directoryFlags)
        guard root >= 0 else { throw Syscall.failure("cannot open `\(directory)`") }
        defer { Syscall.close(root) }
        guard fchmod(root, 0o755) == 0 else { throw Syscall.failure("cannot set mode of `\(directory)`") }

        let file = FileByteSource(descriptor: input)
        let decompressed: any TarByteSource
        var compressedSize: Int64?
        switch try resolve(compression, input) {
        case .gzip:
            decompressed = try GzipByteSource(upstream: file, inputBufferSize: bufferSize)
            var info = stat()
            guard fstat(input.rawValue, &info) == 0 else { throw Syscall.failure("cannot stat the layer") }
            compressedSize = Int64(info.st_size)
        case .none, .detect:
            decompressed = file
        }
        let source = try MeteredByteSource(
            upstream: decompressed, limits: limits, imageBytesRemaining: imageBytesRemaining,
            compressedSize: compressedSize, filesystem: root, hasher: hasher)
        let reader = TarReader(source: source, limits: limits, bufferSize: bufferSize)
        let writer = SnapshotWriter(root: root, limits: limits)
        while let entry = try reader.next() {
            try writer.apply(entry, from: reader)
        }
        try reader.drain()
        try writer.finish()
        var stats = writer.stats
        stats.uncompressedBytes = source.count
        return stats
    }

    private func resolve(_ compression: LayerCompression, _ input: FileDescriptor) throws(ArchiveError)
        -> LayerCompression
    {
        guard compression == .detect else { return compression }
        var magic: [UInt8] = [0, 0]
        let count: Int
        do {
            count = try magic.withUnsafeMutableBytes { try input.read(fromAbsoluteOffset: 0, into: $0) }
        } catch {
            throw ArchiveError(.io, "cannot read layer", cause: error)
        }
        return count == 2 && magic == [0x1f, 0x8b] ? .gzip : .none
    }

    private func makeTemporaryDirectory(next destination: FilePath) throws(ArchiveError) -> String {
        for _ in 0..<8 {
            let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let path = destination.string + ".tmp-" + suffix
            if mkdir(path, 0o700) == 0 { return path }
            if errno != EEXIST { throw Syscall.failure("cannot create temporary snapshot directory `\(path)`") }
        }
        throw ArchiveError(.io, "cannot create a temporary snapshot directory next to `\(destination.string)`")
    }
}
