import CompressNIO
public import Foundation
import NIOCore

/// Builds tar archives in memory for tests: well-formed OCI layers and deliberately
/// malformed ones (lying sizes, bad checksums, raw hostile names, device nodes).
///
/// Names and link targets are written exactly as given, never normalised. Long names use
/// the ustar prefix field when they can, else a pax `path` record (or a GNU `L` entry with
/// ``LongNameStyle/gnu``).
///
/// ```swift
/// var b = TarBuilder()
/// b.directory("bin")
/// b.file("bin/x", contents: [0x7f, 0x45], mode: 0o755)
/// b.symlink("bin/sh", target: "/bin/busybox")
/// b.whiteout("etc/motd")            // etc/.wh.motd
/// let tar: [UInt8] = b.finish()
/// let gz = try TarBuilder.gzip(tar)
/// ```
public struct TarBuilder: Sendable {
    /// How names longer than ustar can hold are written.
    public enum LongNameStyle: Sendable {
        /// pax extended header records `path` / `linkpath` (what Docker and Go write).
        case pax
        /// GNU `././@LongLink` entries of type `L` / `K`.
        case gnu
    }

    /// The header magic to write.
    public enum Magic: Sendable {
        /// POSIX ustar: `ustar\0` + `00`; enables the prefix field.
        case posix
        /// GNU: `ustar  \0`; no prefix field.
        case gnu
        /// Version 7 tar: no magic.
        case v7
    }

    /// One pax record; the value is raw bytes.
    public struct PaxRecord: Sendable, Equatable {
        /// Record keyword, e.g. `path`, `SCHILY.xattr.user.x`.
        public var key: String
        /// Record value.
        public var value: [UInt8]

        /// Creates a record with a binary value.
        public init(_ key: String, _ value: [UInt8]) {
            self.key = key
            self.value = value
        }

        /// Creates a record with a text value.
        public init(_ key: String, _ value: String) {
            self.init(key, Array(value.utf8))
        }
    }

    /// Typeflag bytes.
    public enum TypeFlag {
        public static let regular = UInt8(ascii: "0")
        public static let hardlink = UInt8(ascii: "1")
        public static let symlink = UInt8(ascii: "2")
        public static let characterDevice = UInt8(ascii: "3")
        public static let blockDevice = UInt8(ascii: "4")
        public static let directory = UInt8(ascii: "5")
        public static let fifo = UInt8(ascii: "6")
        public static let paxHeader = UInt8(ascii: "x")
        public static let paxGlobalHeader = UInt8(ascii: "g")
        public static let gnuLongName = UInt8(ascii: "L")
        public static let gnuLongLink = UInt8(ascii: "K")
    }

    /// A fully described entry, for cases the convenience methods do not cover.
    public struct Entry: Sendable {
        /// Raw member name.
        public var name: String
        /// Typeflag byte (see ``TypeFlag``).
        public var typeflag: UInt8
        /// Data written after the header (padded to 512).
        public var contents: [UInt8] = []
        /// Permission bits, incl. setuid/setgid/sticky.
        public var mode: UInt32 = 0o644
        /// Owner ids; values too large for octal are written base-256.
        public var uid: Int = 0
        /// Owner ids; values too large for octal are written base-256.
        public var gid: Int = 0
        /// Modification time in seconds.
        public var mtime: Int = 0
        /// Hardlink/symlink target.
        public var linkName: String = ""
        /// Device numbers for device entries.
        public var deviceMajor: Int = 0
        /// Device numbers for device entries.
        public var deviceMinor: Int = 0
        /// Extra pax records written in an `x` header before this entry.
        public var pax: [PaxRecord] = []
        /// Extended attributes, written as pax `SCHILY.xattr.NAME` records.
        public var xattrs: [PaxRecord] = []
        /// Overrides the builder's ``TarBuilder/longNameStyle``.
        public var longNameStyle: LongNameStyle?
        /// Header `size` to write instead of `contents.count` (to lie about the size).
        public var declaredSize: Int?
        /// Added to the correct checksum (non-zero gives a bad checksum).
        public var checksumDelta: Int = 0
        /// Write numeric fields in base-256 even when octal fits.
        public var forceBase256 = false
        /// Header magic.
        public var magic: Magic = .posix

        /// Creates an entry.
        public init(name: String, typeflag: UInt8, contents: [UInt8] = []) {
            self.name = name
            self.typeflag = typeflag
            self.contents = contents
        }
    }

    /// How names over 100 bytes are written by default.
    public var longNameStyle: LongNameStyle
    /// The archive so far (without end-of-archive blocks).
    public private(set) var bytes: [UInt8] = []

    /// Creates an empty archive.
    public init(longNameStyle: LongNameStyle = .pax) {
        self.longNameStyle = longNameStyle
    }

    // MARK: - Convenience entries

    /// Adds a regular file.
    public mutating func file(
        _ name: String, contents: [UInt8] = [], mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0, mtime: Int = 0,
        xattrs: [PaxRecord] = []
    ) {
        var entry = Entry(name: name, typeflag: TypeFlag.regular, contents: contents)
        entry.mode = mode
        entry.uid = uid
        entry.gid = gid
        entry.mtime = mtime
        entry.xattrs = xattrs
        append(entry)
    }

    /// Adds a regular file with UTF-8 text contents.
    public mutating func file(
        _ name: String, contents: String, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0, mtime: Int = 0,
        xattrs: [PaxRecord] = []
    ) {
        file(name, contents: Array(contents.utf8), mode: mode, uid: uid, gid: gid, mtime: mtime, xattrs: xattrs)
    }

    /// Adds a regular file with `Data` contents.
    public mutating func file(
        _ name: String, contents: Data, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0, mtime: Int = 0,
        xattrs: [PaxRecord] = []
    ) {
        file(name, contents: [UInt8](contents), mode: mode, uid: uid, gid: gid, mtime: mtime, xattrs: xattrs)
    }

    /// Adds a directory (conventionally named with a trailing `/`, but any name is written as given).
    public mutating func directory(
        _ name: String, mode: UInt32 = 0o755, uid: Int = 0, gid: Int = 0, mtime: Int = 0, xattrs: [PaxRecord] = []
    ) {
        var entry = Entry(name: name, typeflag: TypeFlag.directory)
        entry.mode = mode
        entry.uid = uid
        entry.gid = gid
        entry.mtime = mtime
        entry.xattrs = xattrs
        append(entry)
    }

    /// Adds a symlink.
    public mutating func symlink(_ name: String, target: String, uid: Int = 0, gid: Int = 0, mtime: Int = 0) {
        var entry = Entry(name: name, typeflag: TypeFlag.symlink)
        entry.mode = 0o777
        entry.linkName = target
        entry.uid = uid
        entry.gid = gid
        entry.mtime = mtime
        append(entry)
    }

    /// Adds a hardlink to an earlier member `target`.
    public mutating func hardlink(_ name: String, target: String) {
        var entry = Entry(name: name, typeflag: TypeFlag.hardlink)
        entry.linkName = target
        append(entry)
    }

    /// Adds a character device node.
    public mutating func characterDevice(_ name: String, major: Int = 0, minor: Int = 0, mode: UInt32 = 0o666) {
        var entry = Entry(name: name, typeflag: TypeFlag.characterDevice)
        entry.mode = mode
        entry.deviceMajor = major
        entry.deviceMinor = minor
        append(entry)
    }

    /// Adds a block device node.
    public mutating func blockDevice(_ name: String, major: Int = 0, minor: Int = 0, mode: UInt32 = 0o660) {
        var entry = Entry(name: name, typeflag: TypeFlag.blockDevice)
        entry.mode = mode
        entry.deviceMajor = major
        entry.deviceMinor = minor
        append(entry)
    }

    /// Adds a FIFO.
    public mutating func fifo(_ name: String, mode: UInt32 = 0o644) {
        var entry = Entry(name: name, typeflag: TypeFlag.fifo)
        entry.mode = mode
        append(entry)
    }

    /// Adds an OCI whiteout deleting `path` from lower layers: an empty file `dir/.wh.NAME`.
    public mutating func whiteout(_ path: String) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        file(directory + ".wh." + name)
    }

    /// Adds an OCI opaque marker `directory/.wh..wh..opq` (pass "" for the root).
    public mutating func opaque(_ directory: String) {
        let prefix = directory.isEmpty || directory.hasSuffix("/") ? directory : directory + "/"
        file(prefix + ".wh..wh..opq")
    }

    // MARK: - Raw building blocks

    /// Appends `entry`, preceded by the pax/GNU headers its long names, records and xattrs need.
    public mutating func append(_ entry: Entry) {
        var entry = entry
        let style = entry.longNameStyle ?? longNameStyle
        var records = entry.pax
        records += entry.xattrs.map { PaxRecord("SCHILY.xattr." + $0.key, $0.value) }
        var nameField = Array(entry.name.utf8)
        var prefixField: [UInt8] = []
        if nameField.count > 100 {
            if entry.magic == .posix, let split = Self.splitUstar(nameField) {
                (prefixField, nameField) = split
            } else if style == .gnu {
                gnuLongName(entry.name)
                nameField = Array(nameField.prefix(100))
            } else {
                records.append(PaxRecord("path", entry.name))
                nameField = Array(nameField.prefix(100))
            }
        }
        var linkField = Array(entry.linkName.utf8)
        if linkField.count > 100 {
            if style == .gnu {
                gnuLongLink(entry.linkName)
            } else {
                records.append(PaxRecord("linkpath", entry.linkName))
            }
            linkField = Array(linkField.prefix(100))
        }
        if !records.isEmpty {
            paxHeader(records, name: "PaxHeaders/" + String(entry.name.split(separator: "/").last ?? "entry"))
        }
        entry.name = ""
        bytes += Self.header(entry, name: nameField, prefix: prefixField, linkName: linkField)
        appendData(entry.contents)
    }

    /// Appends a pax extended header (`x`, or `g` when `global`) with `records`.
    public mutating func paxHeader(_ records: [PaxRecord], global: Bool = false, name: String = "PaxHeaders/entry") {
        var data: [UInt8] = []
        for record in records {
            data += Self.paxRecord(record)
        }
        var entry = Entry(
            name: "", typeflag: global ? TypeFlag.paxGlobalHeader : TypeFlag.paxHeader, contents: data)
        entry.mode = 0o644
        bytes += Self.header(entry, name: Array(name.utf8.prefix(100)), prefix: [], linkName: [])
        appendData(data)
    }

    /// Appends a GNU long-name (`L`) entry naming the next member.
    public mutating func gnuLongName(_ name: String) {
        appendGNU(TypeFlag.gnuLongName, name)
    }

    /// Appends a GNU long-link (`K`) entry giving the next member's link target.
    public mutating func gnuLongLink(_ target: String) {
        appendGNU(TypeFlag.gnuLongLink, target)
    }

    /// Appends arbitrary bytes (e.g. a hand-made header block).
    public mutating func raw(_ data: [UInt8]) {
        bytes += data
    }

    /// The archive, with the two zero blocks that end it unless `endOfArchive` is false.
    public func finish(endOfArchive: Bool = true) -> [UInt8] {
        endOfArchive ? bytes + [UInt8](repeating: 0, count: 1024) : bytes
    }

    /// gzip-compresses `data` (CompressNIO/zlib).
    public static func gzip(_ data: [UInt8]) throws -> [UInt8] {
        var input = ByteBuffer(bytes: data)
        let compressor = CompressionAlgorithm.gzip().compressor
        try compressor.startStream()
        var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input) + 64)
        try compressor.streamDeflate(from: &input, to: &output, flush: .finish)
        try compressor.finishStream()
        return Array(output.readableBytesView)
    }

    // MARK: - Encoding

    private mutating func appendGNU(_ typeflag: UInt8, _ name: String) {
        let data = Array(name.utf8) + [0]
        let entry = Entry(name: "", typeflag: typeflag, contents: data)
        var header = entry
        header.magic = .gnu
        bytes += Self.header(header, name: Array("././@LongLink".utf8), prefix: [], linkName: [])
        appendData(data)
    }

    private mutating func appendData(_ data: [UInt8]) {
        bytes += data
        let padding = (512 - data.count % 512) % 512
        bytes += [UInt8](repeating: 0, count: padding)
    }

    /// Splits a long path into ustar prefix (≤155) and name (≤100) at a slash.
    private static func splitUstar(_ path: [UInt8]) -> (prefix: [UInt8], name: [UInt8])? {
        guard path.count <= 256 else { return nil }
        for index in path.indices.reversed() where path[index] == UInt8(ascii: "/") {
            let prefix = Array(path[..<index])
            let name = Array(path[(index + 1)...])
            if prefix.count <= 155, name.count <= 100, !name.isEmpty { return (prefix, name) }
        }
        return nil
    }

    private static func paxRecord(_ record: PaxRecord) -> [UInt8] {
        let body = Array(" \(record.key)=".utf8) + record.value + [UInt8(ascii: "\n")]
        var length = body.count + 1
        while String(length).utf8.count + body.count != length {
            length = String(length).utf8.count + body.count
        }
        return Array(String(length).utf8) + body
    }

    private static func header(_ entry: Entry, name: [UInt8], prefix: [UInt8], linkName: [UInt8]) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int, width: Int) {
            for (index, byte) in value.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func number(_ value: Int, at offset: Int, width: Int) {
            let octal = String(value, radix: 8)
            if !entry.forceBase256, value >= 0, octal.utf8.count < width {
                let padded = String(repeating: "0", count: width - 1 - octal.utf8.count) + octal
                put(Array(padded.utf8) + [0], at: offset, width: width)
            } else {
                // Base-256: big-endian two's complement with the top bit of byte 0 set.
                var remaining = Int64(value)
                for index in stride(from: width - 1, through: 0, by: -1) {
                    block[offset + index] = UInt8(truncatingIfNeeded: remaining)
                    remaining >>= 8
                }
                block[offset] = value < 0 ? 0xff : 0x80
            }
        }
        put(name, at: 0, width: 100)
        number(Int(entry.mode), at: 100, width: 8)
        number(entry.uid, at: 108, width: 8)
        number(entry.gid, at: 116, width: 8)
        number(entry.declaredSize ?? entry.contents.count, at: 124, width: 12)
        number(entry.mtime, at: 136, width: 12)
        block[156] = entry.typeflag
        put(linkName, at: 157, width: 100)
        switch entry.magic {
        case .posix:
            put(Array("ustar\0".utf8), at: 257, width: 6)
            put(Array("00".utf8), at: 263, width: 2)
        case .gnu:
            put(Array("ustar  \0".utf8), at: 257, width: 8)
        case .v7:
            break
        }
        if entry.magic != .v7 {
            put(Array("root".utf8), at: 265, width: 32)
            put(Array("root".utf8), at: 297, width: 32)
            number(entry.deviceMajor, at: 329, width: 8)
            number(entry.deviceMinor, at: 337, width: 8)
        }
        if entry.magic == .posix { put(prefix, at: 345, width: 155) }
        // Checksum: sum of the block with the checksum field as spaces.
        for index in 148..<156 { block[index] = 0x20 }
        let sum = block.reduce(0) { $0 + Int($1) } + entry.checksumDelta
        let text = String(repeating: "0", count: max(0, 6 - String(sum, radix: 8).utf8.count)) + String(sum, radix: 8)
        put(Array(text.utf8) + [0, 0x20], at: 148, width: 8)
        return block
    }
}
