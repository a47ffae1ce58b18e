/// The byte classes llhttp 9.3 (NIO's parser) uses, as 256-bit sets written out as constants, so a class test is a
/// shift and a mask with no table in memory.
///
/// Each set is four 64-bit words: word `w` bit `b` stands for byte `64 * w + b`.
enum ByteClass {
    @inline(__always)
    private static func contains(_ byte: UInt8, _ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) -> Bool {
        let word: UInt64
        switch byte >> 6 {
        case 0: word = w0
        case 1: word = w1
        case 2: word = w2
        default: word = w3
        }
        return (word >> UInt64(byte & 63)) & 1 == 1
    }

    /// RFC 9110 `tchar`: header names, chunk extension names and values.
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        contains(byte, 0x03FF_6CFA_0000_0000, 0x57FF_FFFF_C7FF_FFFE, 0, 0)
    }

    /// HTAB, SP, VCHAR and obs-text: what a header value may hold (every CTL but HTAB, and DEL, are refused).
    @inline(__always)
    static func isHeaderValue(_ byte: UInt8) -> Bool {
        contains(byte, 0xFFFF_FFFF_0000_0200, 0x7FFF_FFFF_FFFF_FFFF, ~0, ~0)
    }

    /// A header value byte other than the comma: one element of a list-valued field.
    @inline(__always)
    static func isListElement(_ byte: UInt8) -> Bool {
        contains(byte, 0xFFFF_EFFF_0000_0200, 0x7FFF_FFFF_FFFF_FFFF, ~0, ~0)
    }

    /// llhttp's `URL_CHAR`: visible ASCII but `#`, `?` and anything above 0x7E.
    @inline(__always)
    static func isURL(_ byte: UInt8) -> Bool {
        contains(byte, 0x7FFF_FFF6_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0, 0)
    }

    /// llhttp's `USERINFO_CHARS`: what an authority (`host:port`, `user@host`) may hold.
    @inline(__always)
    static func isUserinfo(_ byte: UInt8) -> Bool {
        contains(byte, 0x2FFF_7FF2_0000_0000, 0x47FF_FFFE_87FF_FFFE, 0, 0)
    }

    /// `qdtext` of a quoted chunk extension value: HTAB, SP, and visible bytes but `"` and `\`.
    @inline(__always)
    static func isQuotedText(_ byte: UInt8) -> Bool {
        contains(byte, 0xFFFF_FFFB_0000_0200, 0xFFFF_FFFF_EFFF_FFFF, ~0, ~0)
    }

    /// The byte after `\` in a quoted chunk extension value.
    @inline(__always)
    static func isQuotedPair(_ byte: UInt8) -> Bool {
        contains(byte, 0xFFFF_FFFF_0000_0200, 0x7FFF_FFFF_FFFF_FFFF, ~0, ~0)
    }

    @inline(__always)
    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// The value of a hex digit, or nil.
    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt64? {
        if byte &- UInt8(ascii: "0") < 10 { return UInt64(byte &- UInt8(ascii: "0")) }
        let lower = byte | 0x20
        if lower &- UInt8(ascii: "a") < 6 { return UInt64(lower &- UInt8(ascii: "a") &+ 10) }
        return nil
    }

    /// ASCII lower case of a byte; other bytes unchanged.
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }
}

extension UInt8 {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let semicolon = UInt8(ascii: ";")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
}
