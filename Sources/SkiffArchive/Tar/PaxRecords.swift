/// Parsed records of one pax extended header (`x` or `g`): `"%d %s=%s\n"` length-prefixed
/// key/value records, values binary-safe.
struct PaxRecords {
    /// Records in archive order; a later duplicate key wins when applied.
    var records: [(key: String, value: [UInt8])] = []

    static let xattrPrefix = "SCHILY.xattr."

    init() {}

    init(parsing data: [UInt8]) throws(ArchiveError) {
        var index = 0
        while index < data.count {
            // Decimal length of the whole record, including itself and the newline.
            var length = 0
            var cursor = index
            while cursor < data.count, data[cursor] != UInt8(ascii: " ") {
                let byte = data[cursor]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), length < 1 << 30 else {
                    throw Self.malformed("bad record length")
                }
                length = length * 10 + Int(byte - UInt8(ascii: "0"))
                cursor += 1
            }
            guard cursor < data.count, cursor > index, length > cursor - index + 1,
                index + length <= data.count, data[index + length - 1] == UInt8(ascii: "\n")
            else { throw Self.malformed("bad record length") }
            let record = data[(cursor + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")), equals > record.startIndex,
                let key = String(validating: record[record.startIndex..<equals], as: UTF8.self)
            else { throw Self.malformed("record without key") }
            records.append((key, Array(record[(equals + 1)...])))
            index += length
        }
    }

    private static func malformed(_ detail: String) -> ArchiveError {
        ArchiveError(.badHeader, "malformed pax extended header: \(detail)")
    }

    /// Strict non-negative decimal (pax `size`, `uid`, `gid`).
    static func decimal(_ value: [UInt8], key: String, max: Int64) throws(ArchiveError) -> Int64 {
        guard !value.isEmpty, value.count <= 19 else { throw badValue(key, value) }
        var result: Int64 = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw badValue(key, value) }
            result = result * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        guard result <= max else { throw badValue(key, value) }
        return result
    }

    /// pax time: `-?digits(.digits)?`, fraction truncated to nanoseconds.
    static func timestamp(_ value: [UInt8], key: String) throws(ArchiveError) -> TarTimestamp {
        var digits = value[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        let dot = digits.firstIndex(of: UInt8(ascii: "."))
        let whole = digits[digits.startIndex..<(dot ?? digits.endIndex)]
        let fraction = dot.map { digits[($0 + 1)...] } ?? []
        guard !whole.isEmpty, whole.count <= 18,
            whole.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            fraction.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw badValue(key, value) }
        var seconds: Int64 = 0
        for byte in whole { seconds = seconds * 10 + Int64(byte - UInt8(ascii: "0")) }
        var nanos: Int32 = 0
        for position in 0..<9 {
            let index = fraction.startIndex + position
            let digit = index < fraction.endIndex ? Int32(fraction[index] - UInt8(ascii: "0")) : 0
            nanos = nanos * 10 + digit
        }
        if negative {
            seconds = -seconds
            if nanos > 0 {
                seconds -= 1
                nanos = 1_000_000_000 - nanos
            }
        }
        return TarTimestamp(seconds: seconds, nanoseconds: nanos)
    }

    static func badValue(_ key: String, _ value: [UInt8]) -> ArchiveError {
        let shown = String(decoding: value.prefix(40), as: UTF8.self)
        return ArchiveError(.badHeader, "pax record \(key) has an invalid value `\(shown)`")
    }
}
