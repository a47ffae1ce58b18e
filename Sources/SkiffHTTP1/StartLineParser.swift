/// The start line of a request or a response, as offsets into the head's bytes.
struct StartLine {
    var method: HTTP1Method = .get
    var status: Int = 0
    var version: HTTP1Version = .http1_1
    /// The request target, or the reason phrase.
    var textStart = 0
    var textEnd = 0
}

/// Parses request and status lines with llhttp's grammar, and a little stricter where listed in the tests.
enum StartLineParser {
    /// Parses `method SP+ target SP+ HTTP/1.x CRLF` at the start of `bytes`; returns the index after the CRLF.
    static func parseRequestLine(
        _ bytes: UnsafeRawBufferPointer, into line: inout StartLine
    ) throws(HTTP1ParseError) -> Int {
        let end = bytes.count
        var i = 0
        while i < end, isMethodByte(bytes[i]) { i += 1 }
        guard i < end, bytes[i] == .space, let method = HTTP1Method(UnsafeRawBufferPointer(rebasing: bytes[0..<i]))
        else { throw .invalidMethod }
        line.method = method
        while i < end, bytes[i] == .space { i += 1 }
        line.textStart = i
        i = try scanTarget(bytes, from: i, authority: method == .connect)
        line.textEnd = i
        while i < end, bytes[i] == .space { i += 1 }
        (line.version, i) = try parseVersion(bytes, at: i)
        guard i + 1 < end, bytes[i] == .cr else {
            throw i < end && bytes[i] == .lf ? .bareLF : .invalidVersion
        }
        guard bytes[i + 1] == .lf else { throw .bareCR }
        return i + 2
    }

    /// Parses `HTTP/1.x SP 3DIGIT [SP reason] CRLF` at the start of `bytes`; returns the index after the CRLF.
    static func parseStatusLine(
        _ bytes: UnsafeRawBufferPointer, into line: inout StartLine
    ) throws(HTTP1ParseError) -> Int {
        let end = bytes.count
        var i: Int
        (line.version, i) = try parseVersion(bytes, at: 0)
        guard i < end, bytes[i] == .space else { throw .invalidVersion }
        i += 1
        guard end - i >= 3, ByteClass.isDigit(bytes[i]), ByteClass.isDigit(bytes[i + 1]),
            ByteClass.isDigit(bytes[i + 2])
        else { throw .invalidStatus }
        line.status = Int(bytes[i] &- 48) * 100 + Int(bytes[i + 1] &- 48) * 10 + Int(bytes[i + 2] &- 48)
        i += 3
        guard i < end else { throw .bareLF }
        switch bytes[i] {
        case .space:
            i += 1
            line.textStart = i
            while i < end, ByteClass.isHeaderValue(bytes[i]) { i += 1 }
            line.textEnd = i
            guard i < end else { throw .bareLF }
            guard bytes[i] == .cr else { throw bytes[i] == .lf ? .bareLF : .invalidReasonPhrase }
        case .cr:
            line.textStart = i
            line.textEnd = i
        case .lf:
            throw .bareLF
        default:
            throw .invalidStatus
        }
        // llhttp also takes CR CR here; a bare CR is refused like any other.
        guard i + 1 < end, bytes[i + 1] == .lf else { throw .bareCR }
        return i + 2
    }

    @inline(__always)
    private static func isMethodByte(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "A") < 26 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }

    /// `HTTP/1.0` or `HTTP/1.1` at `index`. llhttp also takes `RTSP/` and `ICE/`, and HTTP/0.9 and 2.0 (which NIO
    /// then refuses); this parser takes HTTP/1.x only.
    private static func parseVersion(
        _ bytes: UnsafeRawBufferPointer, at index: Int
    ) throws(HTTP1ParseError) -> (HTTP1Version, Int) {
        guard bytes.count - index >= 8, bytes[index] == UInt8(ascii: "H"), bytes[index + 1] == UInt8(ascii: "T"),
            bytes[index + 2] == UInt8(ascii: "T"), bytes[index + 3] == UInt8(ascii: "P"),
            bytes[index + 4] == UInt8(ascii: "/"), bytes[index + 5] == UInt8(ascii: "1"),
            bytes[index + 6] == UInt8(ascii: ".")
        else { throw .invalidVersion }
        switch bytes[index + 7] {
        case UInt8(ascii: "0"): return (.http1_0, index + 8)
        case UInt8(ascii: "1"): return (.http1_1, index + 8)
        default: throw .invalidVersion
        }
    }

    private enum TargetState { case start, scheme, authority, authorityAfterAt, path, query, fragment }

    /// Walks llhttp's URL grammar from `index` and returns the index of the space that ends the target.
    ///
    /// A target ended by CR or LF is HTTP/0.9 (no version): refused as an invalid version, as NIO does.
    private static func scanTarget(
        _ bytes: UnsafeRawBufferPointer, from index: Int, authority: Bool
    ) throws(HTTP1ParseError) -> Int {
        var state: TargetState = authority ? .authority : .start
        var i = index
        let end = bytes.count
        while i < end {
            let byte = bytes[i]
            switch state {
            case .start:
                if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "*") {
                    state = .path
                } else if ByteClass.isAlpha(byte) {
                    state = .scheme
                } else {
                    throw .invalidTarget
                }
            case .scheme:
                if byte == .colon {
                    guard end - i >= 3, bytes[i + 1] == UInt8(ascii: "/"), bytes[i + 2] == UInt8(ascii: "/") else {
                        throw .invalidTarget
                    }
                    i += 2
                    state = .authority
                } else if !ByteClass.isAlpha(byte) {
                    throw .invalidTarget
                }
            case .authority, .authorityAfterAt:
                if ByteClass.isUserinfo(byte) || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]") {
                    state = .authority
                } else if byte == UInt8(ascii: "@") {
                    guard state == .authority else { throw .invalidTarget }
                    state = .authorityAfterAt
                } else if byte == UInt8(ascii: "/") {
                    state = .path
                } else if byte == UInt8(ascii: "?") {
                    state = .query
                } else {
                    return try endOfTarget(byte, at: i)
                }
            case .path:
                if byte == UInt8(ascii: "?") {
                    state = .query
                } else if byte == UInt8(ascii: "#") {
                    state = .fragment
                } else if !ByteClass.isURL(byte) {
                    return try endOfTarget(byte, at: i)
                }
            case .query:
                if byte == UInt8(ascii: "#") {
                    state = .fragment
                } else if !ByteClass.isURL(byte) && byte != UInt8(ascii: "?") {
                    return try endOfTarget(byte, at: i)
                }
            case .fragment:
                if !ByteClass.isURL(byte) && byte != UInt8(ascii: "?") && byte != UInt8(ascii: "#") {
                    return try endOfTarget(byte, at: i)
                }
            }
            i += 1
        }
        throw .invalidTarget
    }

    @inline(__always)
    private static func endOfTarget(_ byte: UInt8, at index: Int) throws(HTTP1ParseError) -> Int {
        switch byte {
        case .space: return index
        case .cr, .lf: throw .invalidVersion
        default: throw .invalidTarget
        }
    }
}
