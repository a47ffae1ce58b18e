public import NIOCore

/// The HTTP/1 minor version: the parser accepts `HTTP/1.0` and `HTTP/1.1` only, as NIO does.
public enum HTTP1Version: Hashable, Sendable {
    case http1_0
    case http1_1
}

/// How the body of a message is delimited, decided from the head (RFC 9112 §6.3, in llhttp's reading).
public enum HTTP1Framing: Hashable, Sendable {
    /// No body: no length fields, a `Content-Length: 0`, a response to HEAD, a 1xx, 204 or 304, or an upgrade.
    case none
    /// Exactly this many bytes.
    case contentLength(UInt64)
    /// Chunked transfer coding, ending with the last chunk and the trailers.
    case chunked
    /// A response body that ends when the connection closes.
    case untilClose
}

/// A parsed request or response head: the start line, the fields, and what the parser decided from them.
///
/// Requests carry `method` and `target`; responses carry `status` and `reason`, and `method` is the method of the
/// request they answer.
public struct HTTP1Head: Sendable {
    /// The request's method; for a response, the method of the request it answers.
    public var method: HTTP1Method
    /// The status code of a response: any three digits, as llhttp takes them (000 too); 0 for a request.
    public var status: Int
    /// Whether this is a response head.
    public var isResponse: Bool
    public var version: HTTP1Version
    /// The header fields in order, names as received.
    public var headers: HTTP1Headers
    /// Whether the connection stays open after this message, from the version and `Connection` (as NIO reports it:
    /// a response that must be read until close is never keep-alive).
    public var keepAlive: Bool
    /// A request that asks to switch protocols (`Upgrade` with `Connection: upgrade`, or CONNECT), or a 101
    /// response. After the end of such a message the parser stops: the bytes that follow are not HTTP/1.
    public var isUpgrade: Bool
    /// How the body is delimited.
    public var framing: HTTP1Framing
    /// Where the request target (or the reason phrase of a response) lies in `headers.bytes`.
    var lineStart: UInt32
    var lineEnd: UInt32

    init(
        method: HTTP1Method, status: Int, isResponse: Bool, version: HTTP1Version, headers: HTTP1Headers,
        keepAlive: Bool,
        isUpgrade: Bool, framing: HTTP1Framing, lineStart: Int, lineEnd: Int
    ) {
        self.method = method
        self.status = status
        self.isResponse = isResponse
        self.version = version
        self.headers = headers
        self.keepAlive = keepAlive
        self.isUpgrade = isUpgrade
        self.framing = framing
        self.lineStart = UInt32(truncatingIfNeeded: lineStart)
        self.lineEnd = UInt32(truncatingIfNeeded: lineEnd)
    }

    /// A request head made from its parts rather than parsed: such as an HTTP/2 request carried on as HTTP/1. The
    /// target and fields are not checked: the caller vouches for them.
    public init(
        method: HTTP1Method, target: String, version: HTTP1Version = .http1_1, headers: HTTP1Headers,
        keepAlive: Bool = true, framing: HTTP1Framing
    ) {
        var headers = headers
        let lineStart = headers.bytes.readableBytes
        headers.bytes.writeString(target)
        self.init(
            method: method, status: 0, isResponse: false, version: version, headers: headers, keepAlive: keepAlive,
            isUpgrade: false, framing: framing, lineStart: lineStart, lineEnd: headers.bytes.readableBytes)
    }

    /// A response head made from its parts rather than parsed: such as an HTTP/2 response carried on as HTTP/1. The
    /// reason and fields are not checked: the caller vouches for them.
    public init(
        status: Int, reason: String = "", version: HTTP1Version = .http1_1, headers: HTTP1Headers,
        keepAlive: Bool = true, framing: HTTP1Framing, requestMethod: HTTP1Method = .get
    ) {
        var headers = headers
        let lineStart = headers.bytes.readableBytes
        headers.bytes.writeString(reason)
        self.init(
            method: requestMethod, status: status, isResponse: true, version: version, headers: headers,
            keepAlive: keepAlive, isUpgrade: status == 101, framing: framing, lineStart: lineStart,
            lineEnd: headers.bytes.readableBytes)
    }

    /// The request target as received (origin form, absolute form, authority form for CONNECT, or `*`); empty for
    /// a response.
    public var target: String {
        self.isResponse ? "" : String(decoding: self.lineBytes, as: UTF8.self)
    }

    /// The request target's bytes, without making a string.
    public var targetBytes: ByteBufferView {
        self.isResponse ? ByteBufferView() : self.lineBytes
    }

    /// The reason phrase of a response (possibly empty); empty for a request.
    public var reason: String {
        self.isResponse ? String(decoding: self.lineBytes, as: UTF8.self) : ""
    }

    /// The reason phrase's bytes, without making a string; empty for a request.
    public var reasonBytes: ByteBufferView {
        self.isResponse ? self.lineBytes : ByteBufferView()
    }

    private var lineBytes: ByteBufferView {
        let view = self.headers.bytes.readableBytesView
        return view[(view.startIndex + Int(self.lineStart))..<(view.startIndex + Int(self.lineEnd))]
    }
}

/// What the parser hands back, one step at a time.
public enum HTTP1Event: Sendable {
    /// A complete head. Body parts (if any) and the end follow.
    case head(HTTP1Head)
    /// Some body bytes: a slice of the buffer given to the parser, not a copy. Chunked framing is removed.
    case body(ByteBuffer)
    /// The end of the message, with the trailer fields of a chunked body if it had any.
    case end(HTTP1Headers?)
}
