import NIOCore
import NIOHTTP1
import SkiffHTTP1

/// A request head rewritten for the instance: the client's head with its hop-by-hop and
/// forwarding fields taken out (``ProxyHeaders/upstreamRequest(from:host:client:forwardedElement:options:)``),
/// and the fields this hop adds.
///
/// Kept apart rather than merged into one field list, so that an HTTP/1.1 instance gets the
/// head in one buffer written straight from the bytes the client sent, and an h2c instance
/// gets NIO's head; and so that a request sent again (a retry, a hand-off) is written again
/// from the same value.
struct UpstreamRequest {
    /// The fields this hop adds, in the order they are written after the client's.
    struct AddedFields {
        /// `transfer-encoding: chunked`: the body reaches the instance chunked.
        var chunked = false
        /// `connection: upgrade` with `upgrade: <this>`: the switch is asked of the instance.
        var upgrade: String?
        /// `te: trailers`, which gRPC requires of an h2c hop.
        var trailersTE = false
        var xForwardedFor: String
        var xForwardedHost: String
        var forwarded: String
    }

    /// The client's head; its fields are the ones kept.
    var head: HTTP1Head
    var added: AddedFields

    var method: HTTP1Method { self.head.method }

    /// Whether the body goes to an HTTP/1.1 instance in chunks.
    var isChunked: Bool { self.added.chunked }

    /// An upper bound of the bytes ``write(into:)`` takes, to size its buffer once.
    var estimatedSize: Int {
        self.head.headers.estimatedSize + self.added.xForwardedFor.utf8.count + self.added.xForwardedHost.utf8.count
            + self.added.forwarded.utf8.count + (self.added.upgrade?.utf8.count ?? 0) + 192
    }

    /// Writes the head for an HTTP/1.1 instance: always HTTP/1.1, so the connection can be kept.
    func write(into buffer: inout ByteBuffer) {
        let added = self.added
        buffer.writeStaticString(self.method.name)
        buffer.writeStaticString(" ")
        buffer.writeBytes(self.head.targetBytes)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        self.head.headers.write(into: &buffer)
        if added.chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        if let upgrade = added.upgrade {
            buffer.writeStaticString("connection: upgrade\r\nupgrade: ")
            buffer.writeString(upgrade)
            buffer.writeStaticString("\r\n")
        }
        if added.trailersTE { buffer.writeStaticString("te: trailers\r\n") }
        buffer.writeStaticString("x-forwarded-for: ")
        buffer.writeString(added.xForwardedFor)
        buffer.writeStaticString("\r\nx-forwarded-proto: http\r\nx-forwarded-host: ")
        buffer.writeString(added.xForwardedHost)
        buffer.writeStaticString("\r\nforwarded: ")
        buffer.writeString(added.forwarded)
        buffer.writeStaticString("\r\n\r\n")
    }

    /// The head as NIO's HTTP/1 types, for an h2c instance (NIO's codec turns it into HEADERS).
    var nioHead: HTTPRequestHead {
        var headers = HTTPHeaders(self.head.headers.map { ($0.name, $0.value) })
        let added = self.added
        if added.chunked { headers.add(name: "transfer-encoding", value: "chunked") }
        if let upgrade = added.upgrade {
            headers.add(name: "connection", value: "upgrade")
            headers.add(name: "upgrade", value: upgrade)
        }
        if added.trailersTE { headers.add(name: "te", value: "trailers") }
        headers.add(name: "x-forwarded-for", value: added.xForwardedFor)
        headers.add(name: "x-forwarded-proto", value: "http")
        headers.add(name: "x-forwarded-host", value: added.xForwardedHost)
        headers.add(name: "forwarded", value: added.forwarded)
        return HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(self.method), uri: self.head.target, headers: headers)
    }
}
