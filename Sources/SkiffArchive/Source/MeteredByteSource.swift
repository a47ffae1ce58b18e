import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A layer's uncompressed stream as the tar reader pulls it: counted, hashed, and stopped
/// the moment it crosses a bound of ``UnpackLimits``.
///
/// Bytes are checked before the reader sees them, so nothing past a limit is ever written:
/// the per-layer size, what is left of the per-image size, the expansion ratio of a gzip
/// layer, and the free-space reserve of the snapshot's filesystem (checked up front and then
/// every ``UnpackLimits/diskCheckInterval`` bytes).
final class MeteredByteSource: TarByteSource {
    private let upstream: any TarByteSource
    private let limits: UnpackLimits
    private let imageBytesRemaining: Int64?
    private let compressedSize: Int64?
    private let filesystem: CInt
    private let hasher: (any LayerStreamHasher)?
    /// Uncompressed bytes handed out so far.
    private(set) var count: Int64 = 0
    private var nextDiskCheck: Int64 = 0

    /// - Parameters:
    ///   - compressedSize: the blob's size when it is compressed (for the expansion ratio).
    ///   - filesystem: any descriptor on the snapshot's filesystem, for `fstatvfs`.
    init(
        upstream: any TarByteSource, limits: UnpackLimits, imageBytesRemaining: Int64?, compressedSize: Int64?,
        filesystem: CInt, hasher: (any LayerStreamHasher)?
    ) throws(ArchiveError) {
        self.upstream = upstream
        self.limits = limits
        self.imageBytesRemaining = imageBytesRemaining
        self.compressedSize = compressedSize
        self.filesystem = filesystem
        self.hasher = hasher
        if let imageBytesRemaining, imageBytesRemaining < 0 {
            throw imageLimitError(remaining: 0)
        }
        try checkDisk()
    }

    func read(into buffer: inout ByteBuffer) throws(ArchiveError) -> Int {
        let start = buffer.writerIndex
        let read = try upstream.read(into: &buffer)
        guard read > 0 else { return 0 }
        count += Int64(read)
        try checkSize()
        if count >= nextDiskCheck { try checkDisk() }
        if let hasher {
            let offset = start - buffer.readerIndex
            buffer.withUnsafeReadableBytes { readable in
                hasher.update(UnsafeRawBufferPointer(rebasing: readable[offset...]))
            }
        }
        return read
    }

    private func checkSize() throws(ArchiveError) {
        // With both limits crossed, the smaller one is the one that bound.
        if let imageBytesRemaining, imageBytesRemaining <= limits.maxTotalBytes, count > imageBytesRemaining {
            throw imageLimitError(remaining: imageBytesRemaining)
        }
        if count > limits.maxTotalBytes {
            throw ArchiveError(
                .limitExceeded,
                "uncompressed, the layer exceeds \(ByteCount.describe(limits.maxTotalBytes)), the per-layer size limit "
                    + "(decompression bomb?)")
        }
        if let compressedSize, count > limits.expansionRatioFloor {
            let (allowed, overflow) = max(compressedSize, 1).multipliedReportingOverflow(by: limits.maxExpansionRatio)
            if !overflow, count > allowed {
                throw ArchiveError(
                    .expansionRatioExceeded,
                    "uncompressed, the layer exceeds \(limits.maxExpansionRatio) times its compressed size of "
                        + "\(ByteCount.describe(compressedSize)), the expansion-ratio limit \(limits.maxExpansionRatio):1 "
                        + "(applied past \(ByteCount.approximate(limits.expansionRatioFloor)); decompression bomb?)")
            }
        }
    }

    private func imageLimitError(remaining: Int64) -> ArchiveError {
        ArchiveError(
            .imageSizeExceeded,
            "uncompressed, the layer exceeds the \(ByteCount.describe(remaining)) its image's other layers left of "
                + "the per-image size limit of \(ByteCount.describe(limits.maxImageBytes))")
    }

    /// Fails when less than the reserve plus one check interval is free, so that the writes
    /// until the next check cannot cross the reserve.
    private func checkDisk() throws(ArchiveError) {
        nextDiskCheck = count + max(limits.diskCheckInterval, 1)
        guard limits.minFreeDiskFraction > 0 else { return }
        var info = statvfs()
        guard fstatvfs(filesystem, &info) == 0 else {
            throw Syscall.failure("cannot read the free space of the snapshot filesystem")
        }
        let blockSize = Int64(info.f_frsize)
        let total = Int64(info.f_blocks) * blockSize
        let available = Int64(info.f_bavail) * blockSize
        let reserve = Int64((Double(total) * limits.minFreeDiskFraction).rounded(.up))
        guard available < reserve + limits.diskCheckInterval else { return }
        let percent = (limits.minFreeDiskFraction * 1000).rounded() / 10
        throw ArchiveError(
            .insufficientSpace,
            "the snapshot filesystem has \(ByteCount.approximate(available)) of \(ByteCount.approximate(total)) free, "
                + "too close to its free-space reserve of \(percent.percentText) % (\(ByteCount.approximate(reserve))); "
                + "unpacking stopped after \(ByteCount.describe(count)) of the uncompressed layer")
    }
}

extension Double {
    /// `10` for 10.0, `2.5` for 2.5: percentages without a trailing `.0`.
    fileprivate var percentText: String {
        self == rounded() ? String(Int64(self)) : String(self)
    }
}
