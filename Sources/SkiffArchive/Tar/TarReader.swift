import NIOCore

/// A streaming, pull-based tar reader: `next()` yields each entry's header, then the caller
/// may stream that entry's data with `readData(_:)` in buffer-sized chunks (or not: `next()`
/// skips whatever is left). Nothing is ever held whole in memory except metadata headers,
/// which ``UnpackLimits/maxPaxHeaderSize`` and ``UnpackLimits/maxPathLength`` bound.
///
/// Formats: v7, POSIX ustar (prefix field), pax (`x` per entry; `g` global for uid, gid,
/// mtime and xattrs), GNU long names (`L`/`K`), base-256 numbers. Header checksums are
/// verified. The archive ends at a zero block (the second zero block is not required) or at
/// end of input right after an entry; end of input anywhere else is ``ArchiveError/Code/truncated``.
///
/// A class, not a struct: it owns the read buffer and the source's position, which copies
/// could not share meaningfully.
public final class TarReader {
    private let source: any TarByteSource
    private let limits: UnpackLimits
    private var buffer: ByteBuffer
    private var sourceEnded = false
    private var finished = false
    private var remainingData: Int64 = 0
    private var pendingPadding: Int64 = 0
    private var globalRecords: [String: [UInt8]] = [:]
    private var globalXattrs: [TarExtendedAttribute] = []
    private var declaredBytes: Int64 = 0

    /// Uncompressed bytes pulled from the source so far.
    public private(set) var bytesRead: Int64 = 0
    /// Entries returned by `next()` so far.
    public private(set) var entryCount = 0
    /// Path of the entry last returned by `next()` (for error messages).
    public private(set) var currentPath: String?

    /// Reads from `source`; `bufferSize` is the largest chunk `readData` hands out.
    public init(source: any TarByteSource, limits: UnpackLimits = .init(), bufferSize: Int = 1 << 20) {
        self.source = source
        self.limits = limits
        self.buffer = ByteBufferAllocator().buffer(capacity: max(bufferSize, 2 * TarHeaderBlock.size))
    }

    /// The next entry, or nil at the end of the archive. Skips the unread data of the
    /// previous entry.
    public func next() throws(ArchiveError) -> TarEntry? {
        do {
            return try nextEntry()
        } catch {
            finished = true
            if let currentPath, !error.message.contains("`") {
                var located = error
                located.message += " (after entry `\(currentPath)`)"
                throw located
            }
            throw error
        }
    }

    /// Hands the next chunk (at most the buffer size) of the current entry's data to `body`;
    /// returns false, without calling `body`, once the data is exhausted. The pointer is only
    /// valid inside `body`.
    public func readData(_ body: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void) throws(ArchiveError) -> Bool {
        guard remainingData > 0 else { return false }
        if buffer.readableBytes == 0, try !fill(1) {
            throw ArchiveError(
                .truncated,
                "archive ends inside the data of entry `\(currentPath ?? "")` (\(remainingData) bytes missing)")
        }
        let count = Int(min(Int64(buffer.readableBytes), remainingData))
        do {
            try buffer.withUnsafeReadableBytes { pointer in
                try body(UnsafeRawBufferPointer(rebasing: pointer[0..<count]))
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(.io, "reading entry `\(currentPath ?? "")`", cause: error)
        }
        buffer.moveReaderIndex(forwardBy: count)
        remainingData -= Int64(count)
        return true
    }

    /// The current entry's remaining data as an array; for small entries only.
    public func readAllData(maxBytes: Int) throws(ArchiveError) -> [UInt8] {
        guard remainingData <= Int64(maxBytes) else {
            throw ArchiveError(.sizeExceeded, "entry `\(currentPath ?? "")` is larger than \(maxBytes) bytes")
        }
        var result: [UInt8] = []
        result.reserveCapacity(Int(remainingData))
        while try readData({ chunk in result.append(contentsOf: chunk) }) {}
        return result
    }

    /// Reads the source to its end after the archive's end marker, so that a compressed
    /// stream is verified to its trailer (and trailing garbage in it is noticed). Still
    /// bounded by ``UnpackLimits/maxTotalBytes``.
    public func drain() throws(ArchiveError) {
        while !sourceEnded {
            buffer.clear()
            _ = try fill(buffer.writableBytes)
        }
        buffer.clear()
    }

    // MARK: - Header parsing

    private func nextEntry() throws(ArchiveError) -> TarEntry? {
        if finished { return nil }
        try skip(remainingData + pendingPadding)
        remainingData = 0
        pendingPadding = 0

        var localRecords: PaxRecords?
        var longName: String?
        var longLink: String?
        var sawMetadata = false
        while true {
            guard try fill(TarHeaderBlock.size) else {
                if buffer.readableBytes == 0 && !sawMetadata {
                    finished = true
                    return nil
                }
                throw ArchiveError(.truncated, "archive ends inside a tar header")
            }
            let header = TarHeaderBlock(bytes: Array(buffer.readableBytesView.prefix(TarHeaderBlock.size)))
            buffer.moveReaderIndex(forwardBy: TarHeaderBlock.size)

            if header.isZero {
                guard !sawMetadata else {
                    throw ArchiveError(.badHeader, "end of archive right after a pax or GNU long-name header")
                }
                // End of archive. The second zero block is optional; if a full block
                // follows, it must be zero too (as Go's archive/tar insists).
                if try fill(TarHeaderBlock.size) {
                    let second = buffer.readableBytesView.prefix(TarHeaderBlock.size)
                    guard second.allSatisfy({ $0 == 0 }) else {
                        throw ArchiveError(.badHeader, "a lone zero block inside the archive")
                    }
                    buffer.moveReaderIndex(forwardBy: TarHeaderBlock.size)
                }
                finished = true
                return nil
            }
            try header.verifyChecksum()
            let size = try header.number(TarHeaderBlock.Field.size, "size")
            guard size >= 0 else { throw ArchiveError(.badHeader, "negative entry size") }

            switch header.typeflag {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard size <= Int64(limits.maxPaxHeaderSize) else {
                    throw ArchiveError(
                        .limitExceeded, "pax header of \(size) bytes exceeds the limit of \(limits.maxPaxHeaderSize)")
                }
                let records = try PaxRecords(parsing: readMetadata(size: Int(size)))
                if header.typeflag == UInt8(ascii: "g") {
                    try applyGlobal(records)
                } else {
                    localRecords = records
                }
                sawMetadata = true
            case UInt8(ascii: "L"), UInt8(ascii: "K"):
                guard size <= Int64(limits.maxPathLength) + 1 else {
                    throw ArchiveError(
                        .limitExceeded, "GNU long name of \(size) bytes exceeds the limit of \(limits.maxPathLength)")
                }
                let data = try readMetadata(size: Int(size))
                let end = data.firstIndex(of: 0) ?? data.endIndex
                guard let name = String(validating: data[..<end], as: UTF8.self) else {
                    throw ArchiveError(.invalidPath, "GNU long name is not valid UTF-8")
                }
                if header.typeflag == UInt8(ascii: "L") { longName = name } else { longLink = name }
                sawMetadata = true
            default:
                return try makeEntry(header, size: size, local: localRecords, longName: longName, longLink: longLink)
            }
        }
    }

    private func makeEntry(
        _ header: TarHeaderBlock, size headerSize: Int64, local: PaxRecords?, longName: String?, longLink: String?
    ) throws(ArchiveError) -> TarEntry {
        typealias Field = TarHeaderBlock.Field
        guard var name = header.string(Field.name), var linkName = header.string(Field.linkname) else {
            throw ArchiveError(.invalidPath, "entry name is not valid UTF-8")
        }
        if header.isPOSIXUstar, !header.isEmpty(Field.prefix) {
            guard let prefix = header.string(Field.prefix) else {
                throw ArchiveError(.invalidPath, "entry name is not valid UTF-8")
            }
            name = prefix + "/" + name
        }
        if let longName { name = longName }
        if let longLink { linkName = longLink }

        let type = TarEntryType(typeflag: header.typeflag)
        var size = headerSize
        var uid = try header.number(Field.uid, "uid")
        var gid = try header.number(Field.gid, "gid")
        var mtime = TarTimestamp(seconds: try header.number(Field.mtime, "mtime"))
        let mode = try header.number(Field.mode, "mode")
        var major: Int64 = 0
        var minor: Int64 = 0
        if type == .characterDevice || type == .blockDevice {
            major = try header.number(Field.devmajor, "devmajor")
            minor = try header.number(Field.devminor, "devminor")
        }

        // Effective pax state: global records, overridden by this entry's; an empty value
        // in the entry's header removes the key (POSIX: "delete" the global setting).
        var records = globalRecords
        var xattrs = globalXattrs
        for (key, value) in local?.records ?? [] {
            if key.hasPrefix(PaxRecords.xattrPrefix) {
                let xattrName = String(key.dropFirst(PaxRecords.xattrPrefix.count))
                xattrs.removeAll { $0.name == xattrName }
                xattrs.append(TarExtendedAttribute(name: xattrName, value: value))
            } else if value.isEmpty {
                records[key] = nil
            } else {
                records[key] = value
            }
        }
        for (key, value) in records {
            switch key {
            case "path":
                guard let path = String(validating: value, as: UTF8.self) else {
                    throw ArchiveError(.invalidPath, "pax path is not valid UTF-8")
                }
                name = path
            case "linkpath":
                guard let path = String(validating: value, as: UTF8.self) else {
                    throw ArchiveError(.invalidPath, "pax linkpath of entry `\(name)` is not valid UTF-8")
                }
                linkName = path
            case "size": size = try PaxRecords.decimal(value, key: key, max: Int64.max)
            case "uid": uid = try PaxRecords.decimal(value, key: key, max: Int64(UInt32.max))
            case "gid": gid = try PaxRecords.decimal(value, key: key, max: Int64(UInt32.max))
            case "mtime": mtime = try PaxRecords.timestamp(value, key: key)
            default:
                if key.hasPrefix("GNU.sparse.") {
                    throw ArchiveError(
                        .unsupportedEntry, "entry `\(name)` is a GNU sparse file, which is not supported")
                }
            // atime, ctime, uname, gname, comment, charset, hdrcharset, vendor keys: ignored.
            }
        }

        guard uid >= 0, uid <= Int64(UInt32.max), gid >= 0, gid <= Int64(UInt32.max) else {
            throw ArchiveError(.badHeader, "entry `\(name)` has an out-of-range uid/gid")
        }
        guard major >= 0, major <= Int64(UInt32.max), minor >= 0, minor <= Int64(UInt32.max) else {
            throw ArchiveError(.badHeader, "entry `\(name)` has out-of-range device numbers")
        }
        guard name.utf8.count <= limits.maxPathLength, linkName.utf8.count <= limits.maxPathLength else {
            throw ArchiveError(
                .limitExceeded,
                "entry `\(name.prefix(64))…` has a path or link target longer than \(limits.maxPathLength) bytes")
        }
        guard !name.utf8.contains(0), !linkName.utf8.contains(0) else {
            throw ArchiveError(.invalidPath, "entry `\(name)` has a NUL byte in its path or link target")
        }

        if type.isHeaderOnly { size = 0 }
        guard size <= limits.maxEntrySize else {
            throw ArchiveError(
                .sizeExceeded, "entry `\(name)` is \(size) bytes, over the per-entry limit of \(limits.maxEntrySize)")
        }
        declaredBytes += size
        guard declaredBytes <= limits.maxTotalBytes else {
            throw ArchiveError(
                .limitExceeded,
                "entry `\(name)` brings the layer's data to \(declaredBytes) bytes, "
                    + "over the per-layer size limit of \(ByteCount.describe(limits.maxTotalBytes))")
        }
        entryCount += 1
        guard entryCount <= limits.maxEntries else {
            throw ArchiveError(.limitExceeded, "layer has more than \(limits.maxEntries) entries (at `\(name)`)")
        }

        currentPath = name
        remainingData = size
        pendingPadding = (512 - size % 512) % 512
        return TarEntry(
            path: name, type: type, size: size, mode: UInt32(mode & 0o7777), uid: UInt32(uid), gid: UInt32(gid),
            modificationTime: mtime, linkName: linkName, deviceMajor: UInt32(major), deviceMinor: UInt32(minor),
            xattrs: xattrs)
    }

    /// Global (`g`) records persist for all following entries. `path`, `linkpath` and
    /// `size` would rename or reframe every later entry; no tool writes them globally, so
    /// they are rejected rather than given either reading.
    private func applyGlobal(_ parsed: PaxRecords) throws(ArchiveError) {
        for (key, value) in parsed.records {
            if key.hasPrefix(PaxRecords.xattrPrefix) {
                let xattrName = String(key.dropFirst(PaxRecords.xattrPrefix.count))
                globalXattrs.removeAll { $0.name == xattrName }
                globalXattrs.append(TarExtendedAttribute(name: xattrName, value: value))
                continue
            }
            switch key {
            case "path", "linkpath", "size":
                throw ArchiveError(.unsupportedEntry, "global pax header sets `\(key)`, which is not supported")
            case "uid", "gid", "mtime":
                globalRecords[key] = value.isEmpty ? nil : value
            default:
                if key.hasPrefix("GNU.sparse.") {
                    throw ArchiveError(
                        .unsupportedEntry, "global pax header sets `\(key)` (sparse files are not supported)")
                }
            }
        }
        let stateSize =
            globalXattrs.reduce(0) { $0 + $1.name.utf8.count + $1.value.count }
            + globalRecords.reduce(0) { $0 + $1.key.utf8.count + $1.value.count }
        guard stateSize <= limits.maxPaxHeaderSize else {
            throw ArchiveError(.limitExceeded, "global pax headers exceed \(limits.maxPaxHeaderSize) bytes")
        }
    }

    // MARK: - Buffer management

    /// Reads a metadata entry's data (plus padding) into memory; `size` is already bounded.
    private func readMetadata(size: Int) throws(ArchiveError) -> [UInt8] {
        var data: [UInt8] = []
        data.reserveCapacity(size)
        var remaining = size
        while remaining > 0 {
            if buffer.readableBytes == 0, try !fill(1) {
                throw ArchiveError(.truncated, "archive ends inside a pax or GNU long-name header")
            }
            let count = min(remaining, buffer.readableBytes)
            data.append(contentsOf: buffer.readableBytesView.prefix(count))
            buffer.moveReaderIndex(forwardBy: count)
            remaining -= count
        }
        try skip(Int64((512 - size % 512) % 512))
        return data
    }

    /// Discards `count` bytes of the stream.
    private func skip(_ count: Int64) throws(ArchiveError) {
        var remaining = count
        while remaining > 0 {
            if buffer.readableBytes == 0, try !fill(1) {
                throw ArchiveError(
                    .truncated,
                    "archive ends inside the data of entry `\(currentPath ?? "")` (\(remaining) bytes missing)")
            }
            let step = Int(min(Int64(buffer.readableBytes), remaining))
            buffer.moveReaderIndex(forwardBy: step)
            remaining -= Int64(step)
        }
    }

    /// Reads from the source until `count` bytes are buffered; false if it ended first.
    private func fill(_ count: Int) throws(ArchiveError) -> Bool {
        while buffer.readableBytes < count {
            if sourceEnded { return false }
            if buffer.readableBytes == 0 {
                buffer.clear()
            } else if buffer.writableBytes < count - buffer.readableBytes || buffer.writableBytes < buffer.capacity / 4
            {
                buffer.discardReadBytes()
            }
            let read = try source.read(into: &buffer)
            if read == 0 {
                sourceEnded = true
                continue
            }
            bytesRead += Int64(read)
            guard bytesRead <= limits.maxTotalBytes else {
                throw ArchiveError(
                    .limitExceeded, "layer expands to more than \(limits.maxTotalBytes) bytes (decompression bomb?)")
            }
        }
        return true
    }
}
