/// The kind of a tar entry, from the header's typeflag byte.
///
/// Metadata headers (pax `x`/`g`, GNU `L`/`K`) never surface: ``TarReader`` folds them into
/// the entry they describe.
public enum TarEntryType: Sendable, Hashable, CustomStringConvertible {
    /// `0`, NUL (old tar) or `7` (contiguous file, which POSIX says to treat as regular).
    case regular
    /// `1`: another name for a file earlier in the archive (`TarEntry.linkName`).
    case hardlink
    /// `2`
    case symlink
    /// `3`
    case characterDevice
    /// `4`
    case blockDevice
    /// `5`
    case directory
    /// `6`
    case fifo
    /// Any other typeflag (GNU sparse `S`, volume label `V`, vendor types…), kept as the raw byte.
    case other(UInt8)

    init(typeflag: UInt8) {
        switch typeflag {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): self = .regular
        case UInt8(ascii: "1"): self = .hardlink
        case UInt8(ascii: "2"): self = .symlink
        case UInt8(ascii: "3"): self = .characterDevice
        case UInt8(ascii: "4"): self = .blockDevice
        case UInt8(ascii: "5"): self = .directory
        case UInt8(ascii: "6"): self = .fifo
        default: self = .other(typeflag)
        }
    }

    /// Types whose header `size` does not describe data that follows (GNU tar and Go's
    /// archive/tar ignore it the same way, so both see the same stream).
    var isHeaderOnly: Bool {
        switch self {
        case .hardlink, .symlink, .characterDevice, .blockDevice, .directory, .fifo: true
        case .regular, .other: false
        }
    }

    public var description: String {
        switch self {
        case .regular: "regular file"
        case .hardlink: "hardlink"
        case .symlink: "symlink"
        case .characterDevice: "character device"
        case .blockDevice: "block device"
        case .directory: "directory"
        case .fifo: "FIFO"
        case .other(let byte):
            if byte >= 0x21 && byte < 0x7f {
                "unknown type '\(Character(Unicode.Scalar(byte)))'"
            } else {
                "unknown type 0x\(String(byte, radix: 16))"
            }
        }
    }
}
