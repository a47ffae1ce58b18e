/// One raw 512-byte tar header block and the field decoding rules of ustar, GNU and v7.
struct TarHeaderBlock {
    static let size = 512

    let bytes: [UInt8]

    /// ustar layout offsets.
    enum Field {
        static let name = 0..<100
        static let mode = 100..<108
        static let uid = 108..<116
        static let gid = 116..<124
        static let size = 124..<136
        static let mtime = 136..<148
        static let checksum = 148..<156
        static let typeflag = 156
        static let linkname = 157..<257
        static let magic = 257..<263
        static let version = 263..<265
        static let devmajor = 329..<337
        static let devminor = 337..<345
        static let prefix = 345..<500
    }

    var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    var typeflag: UInt8 { bytes[Field.typeflag] }

    /// POSIX ustar ("ustar\0" + "00"): the only format whose prefix field extends the name.
    /// GNU ("ustar  \0") stores atime/ctime there instead.
    var isPOSIXUstar: Bool {
        bytes[Field.magic].elementsEqual("ustar\0".utf8)
    }

    /// Verifies the header checksum: the sum of all bytes with the checksum field counted as
    /// spaces. Old tars summed signed chars, so either sum is accepted (as GNU tar does).
    func verifyChecksum() throws(ArchiveError) {
        let stored = try number(Field.checksum, "checksum")
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in bytes.enumerated() {
            let value = Field.checksum.contains(index) ? 0x20 : byte
            unsigned &+= Int64(value)
            signed &+= Int64(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else {
            throw ArchiveError(.badHeader, "tar header checksum mismatch (stored \(stored), computed \(unsigned))")
        }
    }

    /// NUL-terminated string field; nil if not valid UTF-8.
    func string(_ range: Range<Int>) -> String? {
        let field = bytes[range]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(validating: field[field.startIndex..<end], as: UTF8.self)
    }

    func isEmpty(_ range: Range<Int>) -> Bool { bytes[range.lowerBound] == 0 }

    /// A numeric field: octal text (padded with spaces/NULs) or, if the high bit of the first
    /// byte is set, a big-endian base-256 two's-complement number (GNU/star extension for
    /// values octal cannot hold).
    func number(_ range: Range<Int>, _ name: String) throws(ArchiveError) -> Int64 {
        let field = bytes[range]
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            let negative = first & 0x40 != 0
            var value: Int64 = 0
            for (offset, raw) in field.enumerated() {
                var byte = offset == 0 ? (raw & 0x7f) : raw
                if negative { byte = ~byte & (offset == 0 ? 0x7f : 0xff) }
                guard value >> 55 == 0 else {
                    throw ArchiveError(.badHeader, "tar header field \(name) overflows 64 bits")
                }
                value = value << 8 | Int64(byte)
            }
            return negative ? -value - 1 : value
        }
        var value: Int64 = 0
        var started = false
        var ended = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard !ended else { throw badNumber(name) }
                started = true
                guard value >> 60 == 0 else {
                    throw ArchiveError(.badHeader, "tar header field \(name) overflows 64 bits")
                }
                value = value << 3 | Int64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: " "), 0:
                if started { ended = true }
            default:
                throw badNumber(name)
            }
        }
        return value
    }

    private func badNumber(_ name: String) -> ArchiveError {
        ArchiveError(.badHeader, "tar header field \(name) is not an octal number")
    }
}
