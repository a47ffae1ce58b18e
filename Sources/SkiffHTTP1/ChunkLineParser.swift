/// Reads a chunk-size line (`1*HEXDIG *( ";" name [ "=" token / quoted-string ] ) CRLF`) a byte at a time, so a line
/// may arrive in any number of pieces and is never buffered. Extensions are checked and dropped, with llhttp's rules.
struct ChunkLineParser: Sendable {
    private enum State: UInt8, Sendable {
        case firstDigit, digits, extensionStart, extensionName, extensionValue, quoted, quotedPair, quotedEnd, lineFeed
    }

    private var state = State.firstDigit
    /// The chunk size read so far.
    private(set) var size: UInt64 = 0

    /// Reads from `bytes`; returns how many it used and whether the line is complete.
    mutating func read(_ bytes: UnsafeRawBufferPointer) throws(HTTP1ParseError) -> (used: Int, done: Bool) {
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            i += 1
            switch self.state {
            case .firstDigit:
                guard let digit = ByteClass.hexValue(byte) else { throw .invalidChunkSize }
                self.size = digit
                self.state = .digits
            case .digits:
                if let digit = ByteClass.hexValue(byte) {
                    guard self.size >> 60 == 0 else { throw .invalidChunkSize }
                    self.size = self.size << 4 | digit
                } else if byte == .cr {
                    self.state = .lineFeed
                } else if byte == .semicolon {
                    self.state = .extensionStart
                } else {
                    throw byte == .lf ? .bareLF : .invalidChunkSize
                }
            case .extensionStart:
                // llhttp: `;` must be followed by a name (or by `;` or `=`, an empty name).
                guard byte != .space, byte != .cr else { throw .invalidChunkExtension }
                i -= 1
                self.state = .extensionName
            case .extensionName:
                if byte == .equals {
                    self.state = .extensionValue
                } else if !ByteClass.isToken(byte) {
                    try self.endOfExtension(byte)
                }
            case .extensionValue:
                if byte == .quote {
                    self.state = .quoted
                } else if !ByteClass.isToken(byte) {
                    try self.endOfExtension(byte)
                }
            case .quoted:
                if byte == .quote {
                    self.state = .quotedEnd
                } else if byte == .backslash {
                    self.state = .quotedPair
                } else if !ByteClass.isQuotedText(byte) {
                    throw .invalidChunkExtension
                }
            case .quotedPair:
                guard ByteClass.isQuotedPair(byte) else { throw .invalidChunkExtension }
                self.state = .quoted
            case .quotedEnd:
                try self.endOfExtension(byte)
            case .lineFeed:
                guard byte == .lf else { throw .bareCR }
                self.state = .firstDigit
                return (i, true)
            }
        }
        return (i, false)
    }

    /// After an extension name or value: another extension, or the end of the line.
    private mutating func endOfExtension(_ byte: UInt8) throws(HTTP1ParseError) {
        switch byte {
        case .semicolon: self.state = .extensionStart
        case .cr: self.state = .lineFeed
        case .lf: throw .bareLF
        default: throw .invalidChunkExtension
        }
    }
}
