/// llhttp's per-message flags (its `F_*`), which header lines set in the head and, as llhttp does, in the trailers.
struct MessageFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let connectionKeepAlive = MessageFlags(rawValue: 1 << 0)
    static let connectionClose = MessageFlags(rawValue: 1 << 1)
    static let connectionUpgrade = MessageFlags(rawValue: 1 << 2)
    static let chunked = MessageFlags(rawValue: 1 << 3)
    static let upgrade = MessageFlags(rawValue: 1 << 4)
    static let contentLength = MessageFlags(rawValue: 1 << 5)
    static let skipBody = MessageFlags(rawValue: 1 << 6)
    static let transferEncoding = MessageFlags(rawValue: 1 << 9)
}

/// The header fields whose values decide framing and connection handling.
private enum SpecialField {
    case general, connection, contentLength, transferEncoding, upgrade

    /// Recognises the name in `bytes[start..<end]`, ignoring ASCII case (`Proxy-Connection` counts as
    /// `Connection`, as in llhttp).
    @inline(__always)
    init(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) {
        switch end - start {
        case 7: self = FieldParser.equals(bytes, start, "upgrade") ? .upgrade : .general
        case 10: self = FieldParser.equals(bytes, start, "connection") ? .connection : .general
        case 14: self = FieldParser.equals(bytes, start, "content-length") ? .contentLength : .general
        case 16: self = FieldParser.equals(bytes, start, "proxy-connection") ? .connection : .general
        case 17: self = FieldParser.equals(bytes, start, "transfer-encoding") ? .transferEncoding : .general
        default: self = .general
        }
    }
}

/// Parses the field lines of a head or of the trailers, with llhttp's rules for what each special field means.
enum FieldParser {
    /// Parses field lines from `index` to the empty line that ends the block, which must lie in `bytes`. Returns the
    /// index after that empty line.
    ///
    /// - Parameters:
    ///   - flags: llhttp's flags so far in this message; the fields add to them.
    ///   - contentLength: set by a `Content-Length` field.
    static func parse(
        _ bytes: UnsafeRawBufferPointer, from index: Int, isRequest: Bool, maxCount: Int,
        flags: inout MessageFlags, contentLength: inout UInt64, fields: inout [HTTP1Headers.Field]
    ) throws(HTTP1ParseError) -> Int {
        let end = bytes.count
        var i = index
        while true {
            guard i < end else { throw .bareLF }
            let first = bytes[i]
            if first == .cr {
                guard i + 1 < end, bytes[i + 1] == .lf else { throw .bareCR }
                return i + 2
            }
            if first == .lf { throw .bareLF }
            if first == .space || first == .tab { throw .obsoleteLineFolding }

            let nameStart = i
            while i < end, ByteClass.isToken(bytes[i]) { i += 1 }
            guard i < end else { throw .bareLF }
            if bytes[i] != .colon {
                throw bytes[i] == .space || bytes[i] == .tab ? .spaceBeforeColon : .invalidHeaderName
            }
            guard i > nameStart else { throw .invalidHeaderName }
            let nameEnd = i
            i += 1
            let special = SpecialField(bytes, nameStart, nameEnd)
            switch special {
            case .transferEncoding where flags.contains(.contentLength),
                .contentLength where flags.contains(.transferEncoding):
                throw .contentLengthWithTransferEncoding
            default: break
            }

            while i < end, bytes[i] == .space || bytes[i] == .tab { i += 1 }
            let valueStart = i
            while i < end, ByteClass.isHeaderValue(bytes[i]) { i += 1 }
            guard i < end else { throw .bareLF }
            let valueEnd = i
            if bytes[i] != .cr { throw bytes[i] == .lf ? .bareLF : .invalidHeaderValue }
            guard i + 1 < end, bytes[i + 1] == .lf else { throw .bareCR }
            i += 2
            // Folding is reported as such, before the folded field's value is judged.
            if i < end, bytes[i] == .space || bytes[i] == .tab { throw .obsoleteLineFolding }

            guard fields.count < maxCount else { throw .tooManyHeaders }
            fields.append(.init(nameStart: nameStart, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd))
            if special != .general {
                let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
                try apply(special, value: value, isRequest: isRequest, flags: &flags, contentLength: &contentLength)
            }
        }
    }

    private static func apply(
        _ field: SpecialField, value: UnsafeRawBufferPointer, isRequest: Bool, flags: inout MessageFlags,
        contentLength: inout UInt64
    ) throws(HTTP1ParseError) {
        switch field {
        case .general:
            return
        case .upgrade:
            // llhttp sets its flag only for a non-empty value.
            if !value.isEmpty { flags.insert(.upgrade) }
        case .contentLength:
            guard !flags.contains(.contentLength) else { throw .duplicateContentLength }
            contentLength = try parseContentLength(value)
            flags.insert(.contentLength)
        case .transferEncoding:
            // llhttp ignores an empty Transfer-Encoding; it is not a list of codings, so we refuse it.
            guard !value.isEmpty else { throw .invalidTransferEncoding }
            // A request's chunked must be its final coding, also across several fields.
            if isRequest, flags.contains(.chunked) { throw .invalidTransferEncoding }
            flags.insert(.transferEncoding)
            flags.remove(.chunked)
            if try endsWithChunked(value, isRequest: isRequest) { flags.insert(.chunked) }
        case .connection:
            flags.formUnion(connectionOptions(value))
        }
    }

    /// `1*DIGIT *SP`, at most 2^64 - 1, as llhttp reads it (HTAB after the digits is refused).
    private static func parseContentLength(_ value: UnsafeRawBufferPointer) throws(HTTP1ParseError) -> UInt64 {
        var length: UInt64 = 0
        var i = 0
        guard let first = value.first, ByteClass.isDigit(first) else { throw .invalidContentLength }
        while i < value.count, ByteClass.isDigit(value[i]) {
            let (times10, overflow1) = length.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(value[i] &- UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw .invalidContentLength }
            length = sum
            i += 1
        }
        while i < value.count {
            guard value[i] == .space else { throw .invalidContentLength }
            i += 1
        }
        return length
    }

    /// Whether the final coding of a Transfer-Encoding value is `chunked`: llhttp's reading, where an element is
    /// `chunked` only if followed by nothing but spaces. A request may name no coding after `chunked`.
    private static func endsWithChunked(
        _ value: UnsafeRawBufferPointer, isRequest: Bool
    ) throws(HTTP1ParseError) -> Bool {
        enum State { case element, afterChunked, other, whitespace }
        var state = State.element
        var i = 0
        let count = value.count
        while true {
            switch state {
            case .element:
                if equals(value, i, "chunked") {
                    i += 7
                    state = .afterChunked
                } else {
                    state = .other
                }
            case .afterChunked:
                guard i < count else { return true }
                if value[i] == .space {
                    i += 1
                } else if value[i] == .comma {
                    if isRequest { throw .invalidTransferEncoding }
                    state = .other
                } else {
                    state = .other
                }
            case .other:
                guard i < count else { return false }
                if value[i] == .comma { state = .whitespace }
                i += 1
            case .whitespace:
                guard i < count else { return false }
                if value[i] == .space || value[i] == .tab {
                    i += 1
                } else {
                    state = .element
                }
            }
        }
    }

    /// The `close`, `keep-alive` and `upgrade` options of a Connection value, as llhttp 9.3 finds them: an option
    /// counts only if followed by spaces and a comma or the end (so `close<HTAB>` does not count, as in llhttp 9.3).
    private static func connectionOptions(_ value: UnsafeRawBufferPointer) -> MessageFlags {
        enum State { case option, afterOption, other }
        var flags: MessageFlags = []
        var pending: MessageFlags = []
        var state = State.option
        var i = 0
        let count = value.count
        while i < count {
            switch state {
            case .option:
                if value[i] == .space || value[i] == .tab {
                    i += 1
                } else if equals(value, i, "close") {
                    i += 5
                    pending = .connectionClose
                    state = .afterOption
                } else if equals(value, i, "upgrade") {
                    i += 7
                    pending = .connectionUpgrade
                    state = .afterOption
                } else if equals(value, i, "keep-alive") {
                    i += 10
                    pending = .connectionKeepAlive
                    state = .afterOption
                } else {
                    state = .other
                }
            case .afterOption:
                if value[i] == .comma {
                    flags.formUnion(pending)
                    pending = []
                    state = .option
                } else if value[i] != .space {
                    pending = []
                    state = .other
                }
                i += 1
            case .other:
                if value[i] == .comma { state = .option }
                i += 1
            }
        }
        flags.formUnion(pending)
        return flags
    }

    /// Whether `bytes[start...]` begins with `lowercase`, ignoring ASCII case.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ lowercase: StaticString) -> Bool {
        let count = lowercase.utf8CodeUnitCount
        guard bytes.count - start >= count else { return false }
        let expected = lowercase.utf8Start
        for offset in 0..<count where ByteClass.lowercased(bytes[start + offset]) != expected[offset] {
            return false
        }
        return true
    }
}
