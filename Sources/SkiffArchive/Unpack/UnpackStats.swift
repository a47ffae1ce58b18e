/// What an unpack produced.
public struct UnpackStats: Sendable, Equatable {
    /// Entries applied (files, directories, links, whiteouts, opaque markers).
    public var entries: Int
    /// Bytes of regular-file data written.
    public var bytes: Int64
    /// Extended attributes not applied: `trusted.overlay.*` from the layer (Skiff owns that
    /// namespace for whiteouts), and `security.*` ones the filesystem does not support.
    public var skippedXattrs: Int
    /// Length of the uncompressed stream (the tar, headers and padding included): what the
    /// per-layer and per-image limits count, and what the layer's diff_id hashes.
    public var uncompressedBytes: Int64

    /// Creates stats.
    public init(entries: Int = 0, bytes: Int64 = 0, skippedXattrs: Int = 0, uncompressedBytes: Int64 = 0) {
        self.entries = entries
        self.bytes = bytes
        self.skippedXattrs = skippedXattrs
        self.uncompressedBytes = uncompressedBytes
    }
}
