import NIOCore
import NIOHTTP1

/// Header rewriting between client and backend: hop-by-hop stripping, forwarding headers,
/// and message framing for the other side.
enum ProxyHeaders {
    /// What the upstream side changes in a forwarded request beyond the usual rewrite.
    struct UpstreamOptions {
        /// The request may switch protocols on this hop (HTTP/1.1 to an HTTP/1.1 instance):
        /// `Upgrade` and `Connection: upgrade` pass through.
        var mayUpgrade = false
        /// The client's body arrives without HTTP/1 framing (an HTTP/2 stream) and the instance
        /// speaks HTTP/1.1: without a `content-length`, send it chunked.
        var chunkUnframedBody = false
        /// The instance speaks HTTP/2: `te: trailers` (which gRPC requires) passes through.
        var keepTrailersTE = false
    }

    /// The request head to send upstream; whether the client asked to switch protocols
    /// (`upgradeAsked`: NIO's parser reads nothing more on that connection either way), and
    /// whether the forwarded head asks it of the instance (`upgrade`).
    ///
    /// Always HTTP/1.1 so the backend connection can be kept alive. `Expect` is dropped
    /// because the proxy answers `100-continue` itself. Framing is set explicitly
    /// (`content-length` kept, otherwise `transfer-encoding: chunked` if the client sent a body).
    static func upstreamRequestHead(
        from clientHead: HTTPRequestHead,
        host: String,
        client: ClientAddress,
        forwardedElement: String? = nil,
        options: UpstreamOptions = UpstreamOptions()
    ) -> (head: HTTPRequestHead, upgrade: Bool, upgradeAsked: Bool) {
        var headers = clientHead.headers
        // One scan tells which rewrites apply; most requests carry none of these headers.
        var seen = SeenRequestHeaders()
        for (name, _) in headers { seen.note(name) }

        var upgrade = false
        var upgradeAsked = false
        if seen.hopByHop || seen.expect {
            let chunkedBody = !seen.contentLength && seen.transferEncoding
            // Read before the strip: what the client asked to switch to, and whether it
            // accepts trailers.
            let requested = clientHead.version == .http1_1 ? self.requestedUpgrade(headers) : nil
            upgradeAsked = requested != nil
            let switchTo = options.mayUpgrade ? requested : nil
            let trailersTE = options.keepTrailersTE && headers["te"].contains { $0.contains("trailers") }
            self.removeHopByHop(from: &headers, extra: "expect")
            if chunkedBody {
                headers.add(name: "transfer-encoding", value: "chunked")
            }
            if let switchTo {
                headers.add(name: "connection", value: "upgrade")
                headers.add(name: "upgrade", value: switchTo)
                upgrade = true
            }
            if trailersTE {
                headers.add(name: "te", value: "trailers")
            }
        }
        if options.chunkUnframedBody, !seen.contentLength, !seen.transferEncoding {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        // (A `Connection` header may have named one of these, so look again before joining.)
        if seen.xForwardedFor, case let existing = headers["x-forwarded-for"], !existing.isEmpty {
            headers.remove(name: "x-forwarded-for")
            headers.add(name: "x-forwarded-for", value: existing.joined(separator: ", ") + ", " + client.ip)
        } else {
            headers.add(name: "x-forwarded-for", value: client.ip)
        }
        if seen.xForwardedProto { headers.remove(name: "x-forwarded-proto") }
        headers.add(name: "x-forwarded-proto", value: "http")
        if seen.xForwardedHost { headers.remove(name: "x-forwarded-host") }
        headers.add(name: "x-forwarded-host", value: host)
        let element = forwardedElement ?? self.forwardedElement(host: host, client: client)
        if seen.forwarded, case let existing = headers["forwarded"], !existing.isEmpty {
            headers.remove(name: "forwarded")
            headers.add(name: "forwarded", value: existing.joined(separator: ", ") + ", " + element)
        } else {
            headers.add(name: "forwarded", value: element)
        }
        return (
            HTTPRequestHead(version: .http1_1, method: clientHead.method, uri: clientHead.uri, headers: headers),
            upgrade, upgradeAsked
        )
    }

    /// The protocols an HTTP/1.1 request asks to switch to: its `Upgrade` value when
    /// `Connection` names `upgrade` too (as llhttp, which then stops parsing the connection).
    static func requestedUpgrade(_ headers: HTTPHeaders) -> String? {
        guard let protocols = headers.first(name: "upgrade"), !protocols.isEmpty else { return nil }
        return self.lists(headers, "connection", token: "upgrade") ? protocols : nil
    }

    /// Whether a comma-separated header (`Connection`, `Upgrade`) lists `token`, in any case.
    static func lists(_ headers: HTTPHeaders, _ name: String, token: String) -> Bool {
        headers[name].contains { value in
            value.split(separator: ",").contains { $0.trimmingASCIISpaces().lowercased() == token }
        }
    }

    /// The `101 Switching Protocols` head for the client: the instance's headers without the
    /// other hop-by-hop ones, announcing the protocol it switched to.
    static func switchingHead(from upstreamHead: HTTPResponseHead, version: HTTPVersion) -> HTTPResponseHead {
        var headers = upstreamHead.headers
        let switchedTo = headers.first(name: "upgrade")
        self.removeHopByHop(from: &headers, extra: nil)
        headers.add(name: "connection", value: "upgrade")
        if let switchedTo { headers.add(name: "upgrade", value: switchedTo) }
        return HTTPResponseHead(version: version, status: .switchingProtocols, headers: headers)
    }

    /// This hop's `Forwarded` element (RFC 7239); the same for every request a connection
    /// sends to one host, so callers cache it.
    static func forwardedElement(host: String, client: ClientAddress) -> String {
        "for=\(client.forwardedNode);host=\(self.forwardedValue(host));proto=http"
    }

    /// Which of the headers the request rewrite cares about a request carries.
    private struct SeenRequestHeaders {
        var hopByHop = false
        var expect = false
        var contentLength = false
        var transferEncoding = false
        var xForwardedFor = false
        var xForwardedProto = false
        var xForwardedHost = false
        var forwarded = false

        mutating func note(_ name: String) {
            // Cheap length filter first: most header names match none of these lengths.
            switch name.utf8.count {
            case 6:
                if name.equalsIgnoringASCIICase("expect") { self.expect = true }
            case 9:
                if name.equalsIgnoringASCIICase("forwarded") { self.forwarded = true }
            case 14:
                if name.equalsIgnoringASCIICase("content-length") { self.contentLength = true }
            case 15:
                if name.equalsIgnoringASCIICase("x-forwarded-for") { self.xForwardedFor = true }
            case 16:
                if name.equalsIgnoringASCIICase("x-forwarded-host") { self.xForwardedHost = true }
            case 17:
                if name.equalsIgnoringASCIICase("x-forwarded-proto") {
                    self.xForwardedProto = true
                    return
                }
                if name.equalsIgnoringASCIICase("transfer-encoding") { self.transferEncoding = true }
            default:
                break
            }
            if ProxyHeaders.hopByHopKind(name, extra: nil) != .none { self.hopByHop = true }
        }
    }

    /// The response head to send to the client: hop-by-hop headers stripped, the client's
    /// HTTP version, and `Connection` saying what happens to the client connection.
    static func clientResponseHead(
        from upstreamHead: HTTPResponseHead,
        version: HTTPVersion,
        keepAlive: Bool
    ) -> HTTPResponseHead {
        var headers = upstreamHead.headers
        self.removeHopByHop(from: &headers, extra: nil)
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        } else if version.major == 1 && version.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        return HTTPResponseHead(version: version, status: upstreamHead.status, headers: headers)
    }

    /// Whether the client will find the end of this response without the connection closing.
    static func isFramedForClient(
        _ head: HTTPResponseHead,
        requestMethod: HTTPMethod,
        clientVersion: HTTPVersion
    ) -> Bool {
        let code = head.status.code
        if requestMethod == .HEAD || code < 200 || code == 204 || code == 304 {
            return true
        }
        if head.headers.contains(name: "content-length") {
            return true
        }
        return clientVersion.major > 1 || (clientVersion.major == 1 && clientVersion.minor >= 1)
    }

    /// Removes the headers that describe one connection rather than the message (RFC 9110
    /// §7.6.1): `Connection` and the names it lists, plus the fixed hop-by-hop set.
    /// Scans once and does nothing more in the common case where none are present.
    static func removeHopByHop(from headers: inout HTTPHeaders, extra: String?) {
        var present: [String] = []
        for (name, value) in headers {
            switch self.hopByHopKind(name, extra: extra) {
            case .none:
                continue
            case .connection:
                present.append(name)
                for token in value.split(separator: ",") {
                    let trimmed = token.trimmingASCIISpaces()
                    if !trimmed.isEmpty { present.append(String(trimmed)) }
                }
            case .other:
                present.append(name)
            }
        }
        // Each remove is a scan, so only names actually present are removed (usually one:
        // `Connection: keep-alive`); `remove` ignores case and takes every occurrence.
        for (index, name) in present.enumerated()
        where !present[..<index].contains(where: { $0.equalsIgnoringASCIICase(name.lowercased()) }) {
            headers.remove(name: name)
        }
    }

    private static let hopByHopNames = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    fileprivate enum HopByHopKind {
        case none
        case connection
        case other
    }

    fileprivate static func hopByHopKind(_ name: String, extra: String?) -> HopByHopKind {
        let count = name.utf8.count
        // Cheap length filter before any comparison: most headers are none of these.
        switch count {
        case 2, 6, 7, 10, 16, 17:
            break
        default:
            return .none
        }
        if name.equalsIgnoringASCIICase("connection") { return .connection }
        for candidate in self.hopByHopNames where candidate.utf8.count == count {
            if name.equalsIgnoringASCIICase(candidate) { return .other }
        }
        if let extra, extra.utf8.count == count, name.equalsIgnoringASCIICase(extra) { return .other }
        return .none
    }

    /// An RFC 7239 value: a token as is, anything else as a quoted string.
    static func forwardedValue(_ value: String) -> String {
        if value.utf8.allSatisfy(Self.isTokenByte), !value.isEmpty {
            return value
        }
        var quoted = "\""
        for character in value {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        quoted.append("\"")
        return quoted
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension String {
    /// ASCII case-insensitive equality against a lower-case literal, without allocating.
    func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        guard self.utf8.count == lowercase.utf8.count else { return false }
        for (a, b) in zip(self.utf8, lowercase.utf8) {
            let folded = a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z") ? a | 0x20 : a
            if folded != b { return false }
        }
        return true
    }
}

extension Substring {
    func trimmingASCIISpaces() -> Substring {
        var result = self[...]
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
