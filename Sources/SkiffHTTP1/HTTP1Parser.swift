public import NIOCore

/// An incremental HTTP/1.0 and HTTP/1.1 parser for requests (server side) or responses (client side), for the
/// gateway's hot path.
///
/// Feed it the bytes received so far and call ``next(from:)`` until it returns nil (more bytes needed); it consumes
/// from the buffer only what it has returned, so the caller keeps the rest and appends to it, as with a
/// `ByteToMessageDecoder`'s cumulation buffer. At the end of the connection call ``finish()``.
///
/// It accepts what llhttp 9.3 (NIO's parser) accepts, with the same heads, bodies and keep-alive decisions, and refuses
/// the rest: a differential test holds it to that. It is stricter than llhttp where the tests' exception list says
/// (other protocol names than `HTTP/`, an empty Transfer-Encoding, CR CR after a status line, control bytes in a
/// reason phrase, and its limits, which count every byte of a head).
///
/// A head arrives whole (it is at most ``Limits/maxHeadSize`` bytes), and is a slice of the input, not a copy; body
/// parts are slices too.
public struct HTTP1Parser: Sendable {
    /// What the parser reads.
    public enum Kind: Sendable {
        /// Requests, as a server does.
        case request
        /// Responses, as a client does: each needs ``HTTP1Parser/expectResponse(to:)`` first.
        case response
    }

    /// Bounds on what one message may make the parser hold.
    public struct Limits: Hashable, Sendable {
        /// The largest head, or trailer block, in bytes: every byte from the start line to the empty line. NIO's
        /// default is 80 KiB too, though it counts only the target, names and values.
        public var maxHeadSize: Int
        /// The most fields in a head, or in a trailer block.
        public var maxHeaderCount: Int

        public init(maxHeadSize: Int = 80 * 1024, maxHeaderCount: Int = 1024) {
            self.maxHeadSize = maxHeadSize
            self.maxHeaderCount = maxHeaderCount
        }
    }

    private enum State: Sendable {
        /// Between messages: CR and LF are skipped.
        case idle
        /// A head has begun.
        case head
        case body(remaining: UInt64)
        case chunkLine
        case chunkData(remaining: UInt64)
        /// After chunk data: CR, then LF.
        case chunkDataEnd(sawCR: Bool)
        case trailers
        case untilClose
        /// The end of the message is the next event.
        case end(HTTP1Headers?)
        /// After a message that closes the connection: only CR and LF may follow.
        case closed
        /// After an upgrade: the bytes that follow are another protocol's.
        case upgraded
        case failed(HTTP1ParseError)
    }

    public let kind: Kind
    public let limits: Limits
    private var state = State.idle
    /// Bytes of the current head or trailer block already searched for its end.
    private var scanned = 0
    /// llhttp's flags for the current message.
    private var flags: MessageFlags = []
    private var contentLength: UInt64 = 0
    private var version = HTTP1Version.http1_1
    private var status = 0
    private var isUpgrade = false
    private var chunkLine = ChunkLineParser()
    /// The methods of requests sent whose responses have not arrived, oldest first. An array: it holds one method
    /// nearly always, and an empty one allocates nothing, which matters for a server's idle connections.
    private var pendingMethods: [HTTP1Method] = []

    public init(kind: Kind, limits: Limits = Limits()) {
        self.kind = kind
        self.limits = limits
    }

    /// Notes that a request with `method` was sent, so the next response is read as its answer (a response to HEAD
    /// has no body). Call it once per request, in order; 1xx responses other than 101 do not use it up.
    public mutating func expectResponse(to method: HTTP1Method) {
        self.pendingMethods.append(method)
    }

    /// Whether an upgrade message has ended: the parser returns nothing more, and the bytes left in the buffer are the
    /// new protocol's.
    public var isUpgraded: Bool {
        if case .upgraded = self.state { return true }
        return false
    }

    /// Whether the parser is between messages (nothing of the next message has arrived).
    public var isBetweenMessages: Bool {
        switch self.state {
        case .idle, .closed: true
        default: false
        }
    }

    /// The next event from `buffer`, consuming its bytes, or nil if more bytes are needed.
    ///
    /// After an error every call throws it again.
    public mutating func next(from buffer: inout ByteBuffer) throws(HTTP1ParseError) -> HTTP1Event? {
        do {
            return try self.step(&buffer)
        } catch {
            self.state = .failed(error)
            throw error
        }
    }

    /// Tells the parser the connection has ended (after ``next(from:)`` returned nil): the end of a body read until
    /// close, nil between messages, an error inside one.
    public mutating func finish() throws(HTTP1ParseError) -> HTTP1Event? {
        switch self.state {
        case .idle, .closed, .upgraded:
            return nil
        case .untilClose:
            self.state = .closed
            return .end(nil)
        case .end(let trailers):
            self.state = self.stateAfterMessage()
            return .end(trailers)
        case .failed(let error):
            throw error
        case .head, .body, .chunkLine, .chunkData, .chunkDataEnd, .trailers:
            self.state = .failed(.truncatedMessage)
            throw .truncatedMessage
        }
    }

    private mutating func step(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> HTTP1Event? {
        while true {
            switch self.state {
            case .idle, .closed:
                let skipped = buffer.withUnsafeReadableBytes { bytes in
                    var i = 0
                    while i < bytes.count, bytes[i] == .cr || bytes[i] == .lf { i += 1 }
                    return i
                }
                buffer.moveReaderIndex(forwardBy: skipped)
                guard buffer.readableBytes > 0 else { return nil }
                if case .closed = self.state { throw .dataAfterClose }
                self.state = .head
                self.scanned = 0
            case .head:
                return try self.readHead(&buffer)
            case .body(let remaining):
                guard let (slice, left) = Self.readBody(&buffer, remaining: remaining) else { return nil }
                self.state = left == 0 ? .end(nil) : .body(remaining: left)
                return .body(slice)
            case .chunkLine:
                let result = buffer.withUnsafeReadableBytes { bytes in
                    Result { () throws(HTTP1ParseError) in try self.chunkLine.read(bytes) }
                }
                let (used, done) = try result.get()
                buffer.moveReaderIndex(forwardBy: used)
                guard done else { return nil }
                if self.chunkLine.size == 0 {
                    self.state = .trailers
                    self.scanned = 0
                } else {
                    self.state = .chunkData(remaining: self.chunkLine.size)
                }
            case .chunkData(let remaining):
                guard let (slice, left) = Self.readBody(&buffer, remaining: remaining) else { return nil }
                self.state = left == 0 ? .chunkDataEnd(sawCR: false) : .chunkData(remaining: left)
                return .body(slice)
            case .chunkDataEnd(let sawCR):
                guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
                if !sawCR {
                    guard byte == .cr else { throw byte == .lf ? .bareLF : .invalidChunkTerminator }
                    self.state = .chunkDataEnd(sawCR: true)
                } else {
                    guard byte == .lf else { throw .bareCR }
                    self.state = .chunkLine
                }
            case .trailers:
                guard let trailers = try self.readTrailers(&buffer) else { return nil }
                self.state = .end(trailers.isEmpty ? nil : trailers)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .body(buffer.readSlice(length: buffer.readableBytes) ?? ByteBuffer())
            case .end(let trailers):
                self.state = self.stateAfterMessage()
                return .end(trailers)
            case .upgraded:
                return nil
            case .failed(let error):
                throw error
            }
        }
    }

    /// Up to `remaining` body bytes as a slice, and how many remain after them; nil if `buffer` is empty.
    @inline(__always)
    private static func readBody(_ buffer: inout ByteBuffer, remaining: UInt64) -> (ByteBuffer, UInt64)? {
        let available = buffer.readableBytes
        guard available > 0 else { return nil }
        let length = UInt64(available) < remaining ? available : Int(remaining)
        let slice = buffer.readSlice(length: length) ?? ByteBuffer()
        return (slice, remaining - UInt64(length))
    }

    // MARK: Heads

    /// The length of the head or trailer block at the start of `bytes`, or nil if its end has not arrived.
    ///
    /// The block ends at its first empty line. A bare LF or a bare CR ends the search early, so that the parse that
    /// follows reports it without waiting for more bytes.
    private mutating func blockLength(_ bytes: UnsafeRawBufferPointer) throws(HTTP1ParseError) -> Int? {
        let limit = min(bytes.count, self.limits.maxHeadSize)
        var i = self.scanned
        while i < limit {
            let byte = bytes[i]
            if byte == .lf {
                if i == 0 || bytes[i - 1] != .cr { return i + 1 }
                if i == 1 || (bytes[i - 2] == .lf && bytes[i - 3] == .cr) { return i + 1 }
            } else if byte == .cr, i + 1 < limit, bytes[i + 1] != .lf {
                return i + 2
            }
            i += 1
        }
        guard bytes.count < self.limits.maxHeadSize else { throw .headTooLarge }
        // A CR in the last byte is looked at again with the byte after it.
        self.scanned = max(0, i - 1)
        return nil
    }

    private struct ParsedBlock {
        var length: Int
        var line: StartLine
        var fields: [HTTP1Headers.Field]
    }

    private mutating func readHead(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> HTTP1Event? {
        let result = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) -> ParsedBlock? in
                guard let length = try self.blockLength(bytes) else { return nil }
                let block = UnsafeRawBufferPointer(rebasing: bytes[0..<length])
                var line = StartLine()
                let fieldsStart =
                    self.kind == .request
                    ? try StartLineParser.parseRequestLine(block, into: &line)
                    : try StartLineParser.parseStatusLine(block, into: &line)
                var fields: [HTTP1Headers.Field] = []
                fields.reserveCapacity(16)
                self.flags = []
                self.contentLength = 0
                _ = try FieldParser.parse(
                    block, from: fieldsStart, isRequest: self.kind == .request, maxCount: self.limits.maxHeaderCount,
                    flags: &self.flags, contentLength: &self.contentLength, fields: &fields)
                return ParsedBlock(length: length, line: line, fields: fields)
            }
        }
        guard let block = try result.get() else { return nil }
        let head = try self.decide(block.line)
        switch head.framing {
        case .none: self.state = .end(nil)
        case .contentLength(let length): self.state = .body(remaining: length)
        case .chunked: self.state = .chunkLine
        case .untilClose: self.state = .untilClose
        }
        let bytes = buffer.readSlice(length: block.length) ?? ByteBuffer()
        return .head(
            HTTP1Head(
                method: head.method, status: block.line.status, isResponse: self.kind == .response,
                version: block.line.version,
                headers: HTTP1Headers(bytes: bytes, fields: block.fields), keepAlive: head.keepAlive,
                isUpgrade: self.isUpgrade, framing: head.framing, lineStart: block.line.textStart,
                lineEnd: block.line.textEnd))
    }

    private mutating func readTrailers(_ buffer: inout ByteBuffer) throws(HTTP1ParseError) -> HTTP1Headers? {
        let result = buffer.withUnsafeReadableBytes { bytes in
            Result { () throws(HTTP1ParseError) -> (Int, [HTTP1Headers.Field])? in
                guard let length = try self.blockLength(bytes) else { return nil }
                var fields: [HTTP1Headers.Field] = []
                _ = try FieldParser.parse(
                    UnsafeRawBufferPointer(rebasing: bytes[0..<length]), from: 0, isRequest: self.kind == .request,
                    maxCount: self.limits.maxHeaderCount, flags: &self.flags, contentLength: &self.contentLength,
                    fields: &fields)
                return (length, fields)
            }
        }
        guard let (length, fields) = try result.get() else { return nil }
        let bytes = buffer.readSlice(length: length) ?? ByteBuffer()
        return HTTP1Headers(bytes: bytes, fields: fields)
    }

    /// Framing, keep-alive and upgrade for the head just parsed: llhttp's `after_headers_complete` with NIO's
    /// additions for responses (no body for HEAD, CONNECT, 1xx, 204 and 304).
    private mutating func decide(
        _ line: StartLine
    ) throws(HTTP1ParseError) -> (method: HTTP1Method, framing: HTTP1Framing, keepAlive: Bool) {
        self.version = line.version
        self.status = line.status
        let hasBody = self.flags.contains(.chunked) || self.contentLength > 0
        switch self.kind {
        case .request:
            let keepAlive = self.shouldKeepAlive()
            self.isUpgrade = self.flags.isSuperset(of: [.upgrade, .connectionUpgrade]) || line.method == .connect
            if self.isUpgrade && (line.method == .connect || !hasBody) {
                return (line.method, .none, keepAlive)
            }
            if self.flags.contains(.chunked) { return (line.method, .chunked, keepAlive) }
            // RFC 9112 §6.3: a request whose final coding is not chunked cannot be framed.
            if self.flags.contains(.transferEncoding) { throw .invalidTransferEncoding }
            return (line.method, hasBody ? .contentLength(self.contentLength) : .none, keepAlive)

        case .response:
            guard let method = self.pendingMethods.first else { throw .unexpectedResponse }
            let status = line.status
            let informational = status / 100 == 1 && status != 101
            if !informational { self.pendingMethods.removeFirst() }
            // NIO reads keep-alive before it tells llhttp to skip the body, so a response to HEAD without a length
            // is not keep-alive in the head it reports, though the connection stays open after it.
            let keepAlive = self.shouldKeepAlive()
            if informational || method == .head || method == .connect || status == 101 || status == 204
                || status == 304
            {
                self.flags.insert(.skipBody)
            }
            // A 101 ends HTTP/1 on the connection, with or without Upgrade fields; so does a 2xx to CONNECT.
            self.isUpgrade = status == 101 || (method == .connect && status / 100 == 2)
            if self.flags.contains(.skipBody) { return (method, .none, keepAlive) }
            if self.flags.contains(.chunked) { return (method, .chunked, keepAlive) }
            if self.flags.contains(.transferEncoding) { return (method, .untilClose, keepAlive) }
            if self.flags.contains(.contentLength) {
                return (method, hasBody ? .contentLength(self.contentLength) : .none, keepAlive)
            }
            return (method, .untilClose, keepAlive)
        }
    }

    /// llhttp's `should_keep_alive`, from the flags as they stand.
    private func shouldKeepAlive() -> Bool {
        switch self.version {
        case .http1_1: if self.flags.contains(.connectionClose) { return false }
        case .http1_0: if !self.flags.contains(.connectionKeepAlive) { return false }
        }
        return !self.needsEOF()
    }

    /// llhttp's `message_needs_eof`: whether the body of this message ends only when the connection does.
    private func needsEOF() -> Bool {
        guard self.kind == .response else { return false }
        if self.status / 100 == 1 || self.status == 204 || self.status == 304 || self.flags.contains(.skipBody) {
            return false
        }
        if self.flags.contains(.transferEncoding) && !self.flags.contains(.chunked) { return true }
        return !self.flags.contains(.chunked) && !self.flags.contains(.contentLength)
    }

    /// Where the parser goes when a message ends: trailers may have changed keep-alive, as in llhttp.
    private func stateAfterMessage() -> State {
        if self.isUpgrade { return .upgraded }
        return self.shouldKeepAlive() ? .idle : .closed
    }
}
