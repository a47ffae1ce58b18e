import NIOCore
import NIOHPACK
import NIOHTTP1
import SkiffHTTP1

// A client's HTTP/2 stream arrives as frames, an h2c instance's through NIO's HTTP/2-to-HTTP/1
// codec; the proxy carries every message as the gateway's own HTTP/1 types, so these
// conversions are the HTTP/2 paths' only extra cost.

extension HTTPMethod {
    init(_ method: HTTP1Method) {
        switch method {
        case .get: self = .GET
        case .post: self = .POST
        case .head: self = .HEAD
        case .put: self = .PUT
        case .delete: self = .DELETE
        case .options: self = .OPTIONS
        case .patch: self = .PATCH
        default: self = HTTPMethod(rawValue: method.description)
        }
    }
}

extension HTTP1Method {
    /// The method named so, or nil for one the gateway's HTTP/1 parser does not take either.
    init?(name: String) {
        switch name {
        case "GET": self = .get
        case "POST": self = .post
        case "HEAD": self = .head
        case "PUT": self = .put
        case "DELETE": self = .delete
        case "OPTIONS": self = .options
        case "PATCH": self = .patch
        default:
            guard let found = HTTP1Method.allCases.first(where: { $0.description == name }) else { return nil }
            self = found
        }
    }
}

extension HTTP1Headers {
    init(_ headers: HTTPHeaders) {
        self.init(headers.map { ($0.name, $0.value) })
    }
}

extension HTTP1Headers {
    init(_ block: HPACKHeaders) {
        self.init(block.map { ($0.name, $0.value) })
    }
}

extension HTTPHeaders {
    init(_ headers: HTTP1Headers) {
        self.init(headers.map { ($0.name, $0.value) })
    }
}

extension HTTP1Head {
    /// Why an HTTP/2 stream's request cannot be carried on.
    struct StreamRefusal: Error {
        var status: HTTPResponseStatus
        var message: String
    }

    /// An HTTP/2 stream's request (its HEADERS block) as the proxy carries it: the method,
    /// path and authority from the pseudo-header fields (the authority as `host` unless one
    /// is there), the other fields as they came. `bodyFollows` is the stream's framing: DATA
    /// frames follow. The HTTP/2 handler has checked the block's form already.
    static func stream(_ block: HPACKHeaders, bodyFollows: Bool) -> Result<HTTP1Head, StreamRefusal> {
        var method: String?
        var path: String?
        var authority: String?
        var headers = HTTP1Headers()
        var hasHost = false
        var contentLength: UInt64?
        for (name, value, _) in block {
            if name.utf8.first == UInt8(ascii: ":") {
                switch name {
                case ":method": method = value
                case ":path": path = value
                case ":authority": authority = value
                default: break
                }
                continue
            }
            if name == "host" { hasHost = true }
            if name == "content-length" { contentLength = UInt64(value) }
            headers.append(name: name, value: value)
        }
        guard let method, let path, !path.isEmpty else {
            return .failure(StreamRefusal(status: .badRequest, message: "malformed HTTP/2 request\n"))
        }
        guard let known = HTTP1Method(name: method) else {
            return .failure(StreamRefusal(status: .notImplemented, message: "method \(method) is not supported\n"))
        }
        if !hasHost, let authority { headers.append(name: "host", value: authority) }
        let framing: HTTP1Framing
        if !bodyFollows {
            framing = .none
        } else if let contentLength {
            framing = .contentLength(contentLength)
        } else {
            framing = .chunked
        }
        return .success(HTTP1Head(method: known, target: path, headers: headers, framing: framing))
    }

    /// An h2c instance's response (from NIO's codec) as the proxy carries it.
    init(stream head: HTTPResponseHead, requestMethod: HTTP1Method) {
        let framing: HTTP1Framing
        if let length = head.headers.first(name: "content-length").flatMap(UInt64.init) {
            framing = length == 0 ? .none : .contentLength(length)
        } else {
            framing = .chunked
        }
        self.init(
            status: Int(head.status.code), reason: head.status.reasonPhrase, headers: HTTP1Headers(head.headers),
            framing: framing, requestMethod: requestMethod)
    }

    /// The request as NIO's HTTP/1 types (for the h2c upgrade's HEADERS frame).
    var nioRequestHead: HTTPRequestHead {
        HTTPRequestHead(
            version: self.version == .http1_1 ? .http1_1 : .http1_0, method: HTTPMethod(self.method),
            uri: self.target, headers: HTTPHeaders(self.headers))
    }
}
