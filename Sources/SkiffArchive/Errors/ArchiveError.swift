public import SkiffErrors

/// The one error type of SkiffArchive.
///
/// `message` is written for the person who pushed the image: it names the layer and the
/// entry (``LayerUnpacker`` prefixes the layer), e.g.
/// "layer /var/lib/skiff/blobs/sha256/ab…: entry `../etc/passwd` escapes the root".
/// Switch on `code`, never on the message.
public struct ArchiveError: SkiffError {
    /// Machine-readable category of an ``ArchiveError``; extensible, compare with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable identifier, also used in logs and API error bodies.
        public let name: String

        /// Creates a code; modules may define their own beside the static ones.
        public init(_ name: String) { self.name = name }

        public var description: String { name }

        /// An entry path starts with `/`.
        public static let absolutePath = Code("absolutePath")
        /// An entry path has a `..` component.
        public static let pathTraversal = Code("pathTraversal")
        /// An entry path is empty after normalisation, too deep, has NUL bytes or is not UTF-8.
        public static let invalidPath = Code("invalidPath")
        /// An entry would be created below a symlink (its parent path traverses a symlink).
        public static let symlinkTraversal = Code("symlinkTraversal")
        /// A relative symlink target climbs above the snapshot root.
        public static let symlinkEscape = Code("symlinkEscape")
        /// A hardlink target is absolute, climbs out, is missing, or is not a regular file.
        public static let hardlinkEscape = Code("hardlinkEscape")
        /// A character/block device or FIFO entry.
        public static let deviceNode = Code("deviceNode")
        /// A malformed or misused OCI whiteout (`.wh.`) entry.
        public static let whiteoutInvalid = Code("whiteoutInvalid")
        /// `proc`, `sys` or `dev` at the root is a symlink or hardlink.
        public static let protectedPathSymlink = Code("protectedPathSymlink")
        /// An entry's size exceeds ``UnpackLimits/maxEntrySize``.
        public static let sizeExceeded = Code("sizeExceeded")
        /// The archive ends inside a header, an entry's data, or the gzip stream.
        public static let truncated = Code("truncated")
        /// A tar header is malformed (checksum, numeric field, pax record).
        public static let badHeader = Code("badHeader")
        /// A count limit of ``UnpackLimits`` was exceeded, or the layer's uncompressed size
        /// crossed the per-layer limit ``UnpackLimits/maxTotalBytes``.
        public static let limitExceeded = Code("limitExceeded")
        /// The layer would bring its image past the per-image limit ``UnpackLimits/maxImageBytes``.
        public static let imageSizeExceeded = Code("imageSizeExceeded")
        /// A gzip layer expanded past ``UnpackLimits/maxExpansionRatio`` times its compressed size.
        public static let expansionRatioExceeded = Code("expansionRatioExceeded")
        /// The snapshot filesystem is down to its free-space reserve
        /// (``UnpackLimits/minFreeDiskFraction``): the server's disk, not the layer, is at fault.
        public static let insufficientSpace = Code("insufficientSpace")
        /// The gzip stream is corrupt.
        public static let decompression = Code("decompression")
        /// A system call failed; `cause` holds the `Errno`.
        public static let io = Code("io")
        /// An entry type or tar feature Skiff does not extract (sparse files, volume labels…).
        public static let unsupportedEntry = Code("unsupportedEntry")
        /// The unpack destination already exists.
        public static let destinationExists = Code("destinationExists")
    }

    /// What went wrong, as a category.
    public var code: Code
    /// Human-readable explanation naming the layer and entry.
    public var message: String
    /// The underlying error (usually an `Errno`), if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// The same error with `context` (e.g. "layer X") prefixed to the message.
    func prefixed(_ context: String) -> ArchiveError {
        var copy = self
        copy.message = "\(context): \(message)"
        return copy
    }
}
