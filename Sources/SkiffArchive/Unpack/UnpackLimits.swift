/// Bounds that keep a hostile layer from exhausting disk, memory, inodes or file descriptors.
///
/// Defaults are generous for real images (the largest public layers are a few GiB) and small
/// enough that one bad push cannot fill a data disk.
public struct UnpackLimits: Sendable, Equatable {
    /// Most entries (files, dirs, links, whiteouts) one layer may contain.
    public var maxEntries: Int
    /// Most uncompressed bytes read from the tar stream (headers, data and padding), which
    /// also bounds a decompression bomb; the sum of declared entry sizes is checked against
    /// it up front, before any data is written.
    public var maxTotalBytes: Int64
    /// Largest single entry.
    public var maxEntrySize: Int64
    /// Longest entry path or link target, in bytes.
    public var maxPathLength: Int
    /// Most components in an entry path. Unpacking holds one directory descriptor per
    /// level, so this also bounds descriptor use.
    public var maxPathDepth: Int
    /// Largest pax extended header (per header, and for the accumulated global state).
    public var maxPaxHeaderSize: Int

    /// Creates limits; every parameter has a default.
    public init(
        maxEntries: Int = 1_000_000,
        maxTotalBytes: Int64 = 16 << 30,
        maxEntrySize: Int64 = 16 << 30,
        maxPathLength: Int = 4096,
        maxPathDepth: Int = 256,
        maxPaxHeaderSize: Int = 1 << 20
    ) {
        self.maxEntries = maxEntries
        self.maxTotalBytes = maxTotalBytes
        self.maxEntrySize = maxEntrySize
        self.maxPathLength = maxPathLength
        self.maxPathDepth = maxPathDepth
        self.maxPaxHeaderSize = maxPaxHeaderSize
    }
}
