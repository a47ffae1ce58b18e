/// One archive member as described by its header(s), after pax and GNU long-name headers
/// have been applied. Paths are exactly as stored: validating them is the consumer's job
/// (``LayerUnpacker`` does it).
public struct TarEntry: Sendable, Equatable {
    /// Member name (pax `path` > GNU `L` > ustar prefix/name).
    public var path: String
    /// Entry kind.
    public var type: TarEntryType
    /// Bytes of data that follow the header (0 for header-only types whatever the header says).
    public var size: Int64
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask applied).
    public var mode: UInt32
    /// Owner user id (pax `uid` overrides).
    public var uid: UInt32
    /// Owner group id (pax `gid` overrides).
    public var gid: UInt32
    /// Modification time, seconds since the epoch (pax `mtime` may be fractional or negative).
    public var modificationTime: TarTimestamp
    /// Target of a hardlink or symlink (pax `linkpath` > GNU `K` > ustar linkname).
    public var linkName: String
    /// Device numbers (meaningful only for device entries).
    public var deviceMajor: UInt32
    /// Device numbers (meaningful only for device entries).
    public var deviceMinor: UInt32
    /// Extended attributes from pax `SCHILY.xattr.NAME` records, in archive order.
    public var xattrs: [TarExtendedAttribute]

    /// Creates an entry (mostly for tests; ``TarReader`` builds these).
    public init(
        path: String, type: TarEntryType, size: Int64 = 0, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
        modificationTime: TarTimestamp = .init(seconds: 0), linkName: String = "",
        deviceMajor: UInt32 = 0, deviceMinor: UInt32 = 0, xattrs: [TarExtendedAttribute] = []
    ) {
        self.path = path
        self.type = type
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.modificationTime = modificationTime
        self.linkName = linkName
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
        self.xattrs = xattrs
    }
}

/// A point in time with nanosecond precision, as pax `mtime` can express.
public struct TarTimestamp: Sendable, Hashable {
    /// Whole seconds since the epoch (may be negative).
    public var seconds: Int64
    /// 0..<1_000_000_000.
    public var nanoseconds: Int32

    /// Creates a timestamp.
    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// One extended attribute carried in a pax header; the value is binary-safe.
public struct TarExtendedAttribute: Sendable, Hashable {
    /// Full attribute name including namespace, e.g. `security.capability`.
    public var name: String
    /// Raw value bytes.
    public var value: [UInt8]

    /// Creates an attribute.
    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }
}
