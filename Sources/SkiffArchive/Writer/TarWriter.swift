public import NIOCore

/// Writes a tar stream (POSIX.1-2001 "pax": ustar headers, with an extended header where
/// ustar cannot hold a value) entry by entry, without holding any entry's content.
///
/// The writer is a state machine: it returns the bytes to send and checks that the caller
/// sends exactly the declared number of content bytes per entry, so a stream it accepted is
/// always a well-formed archive. Content chunks pass through unchanged; the writer only adds
/// headers, the zero padding to the next 512-byte block, and the end-of-archive marker.
///
/// ```swift
/// var tar = TarWriter()
/// send(try tar.header(for: .init(path: "index.json", kind: .regular(size: 12))))
/// send(try tar.content(chunk))   // chunk plus padding once the entry is complete
/// send(try tar.finish())
/// ```
///
/// Paths are written as given (relative, `/`-separated; a directory's trailing `/` is added).
/// Long paths are split into ustar's prefix and name fields when possible and go into a pax
/// `path` record otherwise; non-ASCII paths, long link targets and sizes of 8 GiB or more
/// also use pax records, which GNU tar, bsdtar and Go's archive/tar read.
public struct TarWriter: Sendable {
    /// The tar block size: headers and padded contents are multiples of it.
    public static let blockSize = 512

    /// One archive member as the writer encodes it.
    public struct Entry: Sendable, Hashable {
        /// What the member is; a regular file declares its content size up front.
        public enum Kind: Sendable, Hashable {
            case regular(size: Int64)
            case directory
            case symlink(target: String)
        }

        /// Relative, `/`-separated path inside the archive.
        public var path: String
        public var kind: Kind
        /// Permission bits (`0o644`); file type bits are ignored.
        public var mode: UInt32
        /// Seconds since 1970; negative values are written as 0.
        public var modificationTime: Int64
        public var uid: Int
        public var gid: Int

        public init(
            path: String, kind: Kind, mode: UInt32? = nil, modificationTime: Int64 = 0, uid: Int = 0, gid: Int = 0
        ) {
            self.path = path
            self.kind = kind
            if let mode {
                self.mode = mode & 0o7777
            } else if case .directory = kind {
                self.mode = 0o755
            } else {
                self.mode = 0o644
            }
            self.modificationTime = modificationTime
            self.uid = uid
            self.gid = gid
        }

        /// Content bytes that follow the header.
        public var contentSize: Int64 {
            if case .regular(let size) = kind { return size }
            return 0
        }
    }

    /// A misuse of the writer or an entry it cannot encode; names the entry.
    ///
    /// SkiffArchive's reader reports through `ArchiveError`; this writer was written apart from
    /// it and keeps its own small error so that it compiles alone.
    public struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    private enum State: Sendable {
        case betweenEntries
        case inContent(path: String, remaining: Int64, size: Int64)
        case finished
    }

    private var state: State = .betweenEntries
    /// Bytes of archive produced so far, counting content passed through.
    public private(set) var bytesWritten: Int64 = 0

    public init() {}

    /// The header block(s) of the next entry. For an entry with content, ``content(_:)`` must
    /// then receive exactly `size` bytes before the next header.
    public mutating func header(for entry: Entry) throws(Failure) -> ByteBuffer {
        switch state {
        case .finished:
            throw Failure("tar entry `\(entry.path)` added after the end of the archive")
        case .inContent(let path, let remaining, _):
            throw Failure("tar entry `\(path)` is missing \(remaining) bytes of content before `\(entry.path)`")
        case .betweenEntries:
            break
        }
        let bytes = try Self.encodeHeader(entry)
        bytesWritten += Int64(bytes.count)
        let size = entry.contentSize
        if size > 0 {
            state = .inContent(path: entry.path, remaining: size, size: size)
        }
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return buffer
    }

    /// Passes a chunk of the current entry's content through; once the entry is complete the
    /// returned buffer also carries the padding to the next block.
    public mutating func content(_ chunk: ByteBuffer) throws(Failure) -> ByteBuffer {
        guard case .inContent(let path, let remaining, let size) = state else {
            if chunk.readableBytes == 0 { return chunk }
            throw Failure("tar content of \(chunk.readableBytes) bytes given outside of a regular file entry")
        }
        let count = Int64(chunk.readableBytes)
        guard count <= remaining else {
            throw Failure("tar entry `\(path)` declared \(size) bytes but got more")
        }
        bytesWritten += count
        guard count == remaining else {
            state = .inContent(path: path, remaining: remaining - count, size: size)
            return chunk
        }
        state = .betweenEntries
        let padding = Self.paddingSize(forContentSize: size)
        guard padding > 0 else { return chunk }
        var out = chunk
        out.writeRepeatingByte(0, count: padding)
        bytesWritten += Int64(padding)
        return out
    }

    /// The end-of-archive marker: two zero blocks. Nothing may follow.
    public mutating func finish() throws(Failure) -> ByteBuffer {
        if case .inContent(let path, let remaining, _) = state {
            throw Failure("tar entry `\(path)` is missing \(remaining) bytes of content at the end of the archive")
        }
        guard case .betweenEntries = state else { throw Failure("tar archive finished twice") }
        state = .finished
        bytesWritten += Int64(2 * Self.blockSize)
        var buffer = ByteBufferAllocator().buffer(capacity: 2 * Self.blockSize)
        buffer.writeRepeatingByte(0, count: 2 * Self.blockSize)
        return buffer
    }

    /// The exact size of the archive these entries make, to announce a `Content-Length`
    /// before any content is read.
    public static func archiveSize(of entries: [Entry]) throws(Failure) -> Int64 {
        var total = Int64(2 * blockSize)
        for entry in entries {
            total += Int64(try encodeHeader(entry).count)
            let size = entry.contentSize
            total += size + Int64(paddingSize(forContentSize: size))
        }
        return total
    }

    /// Zero bytes that follow `size` content bytes to reach the next block boundary.
    public static func paddingSize(forContentSize size: Int64) -> Int {
        let rest = Int(size % Int64(blockSize))
        return rest == 0 ? 0 : blockSize - rest
    }

    // MARK: Encoding

    // ustar field offsets and widths (POSIX.1-2001, pax "ustar Interchange Format").
    private static let nameField = (offset: 0, width: 100)
    private static let modeField = (offset: 100, width: 8)
    private static let uidField = (offset: 108, width: 8)
    private static let gidField = (offset: 116, width: 8)
    private static let sizeField = (offset: 124, width: 12)
    private static let mtimeField = (offset: 136, width: 12)
    private static let checksumField = (offset: 148, width: 8)
    private static let typeflagOffset = 156
    private static let linknameField = (offset: 157, width: 100)
    private static let magicOffset = 257
    private static let prefixField = (offset: 345, width: 155)

    static func encodeHeader(_ entry: Entry) throws(Failure) -> [UInt8] {
        var path = entry.path
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw Failure("tar entry path \(path.debugDescription) is empty or contains a NUL byte")
        }
        if case .directory = entry.kind, !path.hasSuffix("/") { path += "/" }
        var records: [(String, String)] = []

        let pathBytes = Array(path.utf8)
        var name = pathBytes
        var prefix: [UInt8] = []
        if !path.allSatisfy(\.isASCII) {
            records.append(("path", path))
            name = Array(Self.asciiFallback(path).utf8.suffix(nameField.width))
        } else if pathBytes.count > nameField.width {
            if let split = Self.ustarSplit(pathBytes) {
                (prefix, name) = split
            } else {
                records.append(("path", path))
                name = Array(pathBytes.suffix(nameField.width))
            }
        }

        var linkName: [UInt8] = []
        let typeflag: UInt8
        switch entry.kind {
        case .regular(let size):
            guard size >= 0 else { throw Failure("tar entry `\(entry.path)` has a negative size") }
            typeflag = UInt8(ascii: "0")
            // 11 octal digits hold sizes below 8 GiB.
            if size > 0o777_7777_7777 { records.append(("size", String(size))) }
        case .directory:
            typeflag = UInt8(ascii: "5")
        case .symlink(let target):
            guard !target.isEmpty, !target.utf8.contains(0) else {
                throw Failure("tar entry `\(entry.path)` has an empty link target or one with a NUL byte")
            }
            typeflag = UInt8(ascii: "2")
            let targetBytes = Array(target.utf8)
            if targetBytes.count > linknameField.width || !target.allSatisfy(\.isASCII) {
                records.append(("linkpath", target))
                linkName = Array(Self.asciiFallback(target).utf8.prefix(linknameField.width))
            } else {
                linkName = targetBytes
            }
        }
        let maxID = 0o7777777
        if entry.uid < 0 || entry.uid > maxID { records.append(("uid", String(max(0, entry.uid)))) }
        if entry.gid < 0 || entry.gid > maxID { records.append(("gid", String(max(0, entry.gid)))) }

        var header = [UInt8](repeating: 0, count: blockSize)
        put(name, into: &header, nameField)
        put(prefix, into: &header, prefixField)
        putOctal(Int64(entry.mode), into: &header, modeField)
        putOctal(Int64(min(max(0, entry.uid), maxID)), into: &header, uidField)
        putOctal(Int64(min(max(0, entry.gid), maxID)), into: &header, gidField)
        putOctal(min(entry.contentSize, 0o777_7777_7777), into: &header, sizeField)
        putOctal(min(max(0, entry.modificationTime), 0o777_7777_7777), into: &header, mtimeField)
        header[typeflagOffset] = typeflag
        put(linkName, into: &header, linknameField)
        writeMagicAndChecksum(&header)

        guard !records.isEmpty else { return header }
        let pax = Self.paxRecords(records)
        var paxHeader = [UInt8](repeating: 0, count: blockSize)
        // The extended header's own name is informational; readers apply it to the next entry.
        let paxName = Array(
            "PaxHeaders/\(Self.asciiFallback(path.split(separator: "/").last.map(String.init) ?? "entry"))".utf8)
        put(Array(paxName.prefix(nameField.width)), into: &paxHeader, nameField)
        putOctal(0o644, into: &paxHeader, modeField)
        putOctal(0, into: &paxHeader, uidField)
        putOctal(0, into: &paxHeader, gidField)
        putOctal(Int64(pax.count), into: &paxHeader, sizeField)
        putOctal(min(max(0, entry.modificationTime), 0o777_7777_7777), into: &paxHeader, mtimeField)
        paxHeader[typeflagOffset] = UInt8(ascii: "x")
        writeMagicAndChecksum(&paxHeader)

        var out = paxHeader
        out += pax
        out += [UInt8](repeating: 0, count: paddingSize(forContentSize: Int64(pax.count)))
        out += header
        return out
    }

    /// Splits a path longer than 100 bytes at a `/` so the tail fits `name` and the head `prefix`.
    private static func ustarSplit(_ path: [UInt8]) -> (prefix: [UInt8], name: [UInt8])? {
        let slash = UInt8(ascii: "/")
        guard path.count <= prefixField.width + 1 + nameField.width else { return nil }
        // The last slash whose head fits the prefix field; a trailing slash cannot be the split.
        for index in stride(from: min(prefixField.width, path.count - 2), through: 1, by: -1) where path[index] == slash
        {
            let name = Array(path[(index + 1)...])
            guard !name.isEmpty, name.count <= nameField.width else { return nil }
            return (Array(path[..<index]), name)
        }
        return nil
    }

    /// `len key=value\n` records, where `len` counts the whole record including itself.
    static func paxRecords(_ records: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, value) in records {
            let body = " \(key)=\(value)\n"
            let bodyLength = body.utf8.count
            var length = bodyLength + String(bodyLength).count
            if String(length).count != String(bodyLength).count {
                length = bodyLength + String(length).count
            }
            out += Array("\(length)\(body)".utf8)
        }
        return out
    }

    private static func asciiFallback(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "_" })
    }

    private static func put(_ bytes: [UInt8], into header: inout [UInt8], _ field: (offset: Int, width: Int)) {
        for (index, byte) in bytes.prefix(field.width).enumerated() {
            header[field.offset + index] = byte
        }
    }

    /// Zero-padded octal, NUL-terminated, filling the field.
    private static func putOctal(_ value: Int64, into header: inout [UInt8], _ field: (offset: Int, width: Int)) {
        let digits = String(value, radix: 8)
        let padded = String(repeating: "0", count: max(0, field.width - 1 - digits.count)) + digits
        put(Array(padded.utf8), into: &header, field)
        header[field.offset + field.width - 1] = 0
    }

    private static func writeMagicAndChecksum(_ header: inout [UInt8]) {
        put(Array("ustar\u{0}00".utf8), into: &header, (magicOffset, 8))
        for index in checksumField.offset..<(checksumField.offset + checksumField.width) {
            header[index] = UInt8(ascii: " ")
        }
        let sum = header.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        let padded = String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        put(Array(padded.utf8), into: &header, (checksumField.offset, 6))
        header[checksumField.offset + 6] = 0
        header[checksumField.offset + 7] = UInt8(ascii: " ")
    }
}
