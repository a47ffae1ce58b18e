/// Bounds that keep a hostile layer from exhausting disk, memory, inodes or file descriptors.
///
/// Defaults are generous for real images (most layers are well under 1 GiB uncompressed) and
/// small enough that one bad push cannot fill a data disk. A layer that crosses any bound stops
/// at once and leaves no snapshot behind.
public struct UnpackLimits: Sendable, Equatable {
    /// Default of ``maxTotalBytes``: 4 GiB of uncompressed tar per layer.
    public static let defaultMaxLayerBytes: Int64 = 4 << 30
    /// Default of ``maxImageBytes``: 8 GiB of uncompressed tar for all of an image's layers.
    public static let defaultMaxImageBytes: Int64 = 8 << 30

    /// Most entries (files, dirs, links, whiteouts) one layer may contain.
    public var maxEntries: Int
    /// The per-layer limit (`skiff server --max-layer-size`): most uncompressed bytes read
    /// from the tar stream (headers, data and padding), which also bounds a decompression
    /// bomb; the sum of declared entry sizes is checked against it up front, before any data
    /// is written.
    public var maxTotalBytes: Int64
    /// The per-image limit (`--max-image-size`): most uncompressed bytes of all of an image's
    /// layers together. The unpacker sees one layer at a time; callers pass what is left of
    /// this budget to ``LayerUnpacker/unpack(layerAt:compression:into:imageBytesRemaining:hasher:)``.
    public var maxImageBytes: Int64
    /// Most uncompressed bytes per compressed byte of a gzip layer, once the layer has
    /// produced more than ``expansionRatioFloor`` bytes. Ordinary layers expand 2-5 times;
    /// gzip cannot expand more than about 1032:1, which only runs of one byte reach.
    public var maxExpansionRatio: Int64
    /// Output below which ``maxExpansionRatio`` is not applied, so that small, very
    /// compressible layers (a few zero-filled files) still unpack.
    public var expansionRatioFloor: Int64
    /// Share of the snapshot filesystem that unpacking leaves free (0.10 = 10 %), so that a
    /// bomb which stays under the size limits still cannot fill the disk the database, logs
    /// and running instances share. 0 turns the check off.
    public var minFreeDiskFraction: Double
    /// Uncompressed bytes between two free-space checks (`fstatvfs` on the snapshot). Unpacking
    /// stops when less than the reserve plus one interval is free, so the next interval of
    /// writes cannot cross the reserve.
    public var diskCheckInterval: Int64
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
        maxTotalBytes: Int64 = UnpackLimits.defaultMaxLayerBytes,
        maxImageBytes: Int64 = UnpackLimits.defaultMaxImageBytes,
        maxExpansionRatio: Int64 = 100,
        expansionRatioFloor: Int64 = 64 << 20,
        minFreeDiskFraction: Double = 0.10,
        diskCheckInterval: Int64 = 16 << 20,
        maxEntrySize: Int64 = 16 << 30,
        maxPathLength: Int = 4096,
        maxPathDepth: Int = 256,
        maxPaxHeaderSize: Int = 1 << 20
    ) {
        self.maxEntries = maxEntries
        self.maxTotalBytes = maxTotalBytes
        self.maxImageBytes = maxImageBytes
        self.maxExpansionRatio = maxExpansionRatio
        self.expansionRatioFloor = expansionRatioFloor
        self.minFreeDiskFraction = minFreeDiskFraction
        self.diskCheckInterval = diskCheckInterval
        self.maxEntrySize = maxEntrySize
        self.maxPathLength = maxPathLength
        self.maxPathDepth = maxPathDepth
        self.maxPaxHeaderSize = maxPaxHeaderSize
    }
}
