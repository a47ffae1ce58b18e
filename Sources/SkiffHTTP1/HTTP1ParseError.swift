/// Why a message was refused: what a 400 (or a 502, for a response) and its debug log say.
///
/// Every error is final: the parser refuses everything after it, since the framing of the connection is lost.
public enum HTTP1ParseError: Error, Hashable, Sendable {
    /// The method is not one llhttp knows for HTTP (llhttp refuses unknown methods; so do we), or is not followed by
    /// a single space. `PRI` (the HTTP/2 preface) is refused here too.
    case invalidMethod
    /// The request target has a byte or a shape llhttp's URL grammar refuses (a control byte, a byte above 0x7E, a
    /// scheme without `://`, two `@` in a row, nothing at all).
    case invalidTarget
    /// The version is not `HTTP/1.0` or `HTTP/1.1` (this covers HTTP/0.9's missing version, HTTP/2.0, RTSP/ and ICE/).
    case invalidVersion
    /// The status code is not three digits followed by a space or the end of the line.
    case invalidStatus
    /// The reason phrase holds a control byte other than HTAB.
    case invalidReasonPhrase
    /// A header name is empty or holds a byte that is not a token character.
    case invalidHeaderName
    /// Space or HTAB between a header name and its colon (RFC 9112 §5.1: a server must reject it).
    case spaceBeforeColon
    /// A header value holds NUL, another control byte or DEL.
    case invalidHeaderValue
    /// A line that starts with SP or HTAB: obsolete line folding, or whitespace before the first header.
    case obsoleteLineFolding
    /// A line ends in LF without CR.
    case bareLF
    /// A CR that is not followed by LF.
    case bareCR
    /// A Content-Length that is empty, not all digits (trailing spaces aside), or above 2^64 - 1.
    case invalidContentLength
    /// Two Content-Length fields, even with equal values (as llhttp).
    case duplicateContentLength
    /// Content-Length and Transfer-Encoding in one message (RFC 9112 §6.3 says such a message "ought to be handled
    /// as an error"; llhttp does).
    case contentLengthWithTransferEncoding
    /// A request whose Transfer-Encoding is empty, or whose final coding is not `chunked`, or that names a coding
    /// after `chunked`.
    case invalidTransferEncoding
    /// A chunk size that is not hex, overflows 64 bits, or is followed by anything but CRLF or `;` extensions.
    case invalidChunkSize
    /// A chunk extension that does not follow `;name[=token|"quoted"]`.
    case invalidChunkExtension
    /// Chunk data not followed by CRLF.
    case invalidChunkTerminator
    /// The head (or the trailers) is larger than the limit.
    case headTooLarge
    /// More header fields (or trailer fields) than the limit.
    case tooManyHeaders
    /// Bytes other than CR or LF after a message that closes the connection (`Connection: close`, or HTTP/1.0
    /// without keep-alive).
    case dataAfterClose
    /// A response arrived while no request was waiting for one.
    case unexpectedResponse
    /// The connection ended inside a message.
    case truncatedMessage
}

extension HTTP1ParseError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidMethod: "invalid or unknown method"
        case .invalidTarget: "invalid request target"
        case .invalidVersion: "invalid HTTP version"
        case .invalidStatus: "invalid status code"
        case .invalidReasonPhrase: "control byte in reason phrase"
        case .invalidHeaderName: "invalid header name"
        case .spaceBeforeColon: "whitespace between header name and colon"
        case .invalidHeaderValue: "control byte in header value"
        case .obsoleteLineFolding: "obsolete line folding or leading whitespace"
        case .bareLF: "line ends in LF without CR"
        case .bareCR: "CR without LF"
        case .invalidContentLength: "invalid Content-Length"
        case .duplicateContentLength: "more than one Content-Length"
        case .contentLengthWithTransferEncoding: "Content-Length with Transfer-Encoding"
        case .invalidTransferEncoding: "Transfer-Encoding whose final coding is not chunked"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidChunkExtension: "invalid chunk extension"
        case .invalidChunkTerminator: "chunk data not followed by CRLF"
        case .headTooLarge: "head larger than the limit"
        case .tooManyHeaders: "more header fields than the limit"
        case .dataAfterClose: "data after a message that closes the connection"
        case .unexpectedResponse: "response without a request"
        case .truncatedMessage: "connection ended inside a message"
        }
    }
}
