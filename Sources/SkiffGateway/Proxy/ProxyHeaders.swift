import NIOCore
import NIOHTTP1

/// Header rewriting between client and backend: hop-by-hop stripping, forwarding headers,
/// and message framing for the other side.
enum ProxyHeaders {
    /// The request head to send upstream.
    ///
    /// Always HTTP/1.1 so the backend connection can be kept alive. `Expect` is dropped
    /// because the proxy answers `100-continue` itself. Framing is set explicitly
    /// (`content-length` kept, otherwise `transfer-encoding: chunked` if the client sent a body).
    static func upstreamRequestHead(
        from clientHead: HTTPRequestHead,
        host: String,
        client: ClientAddress
    ) -> HTTPRequestHead {
        var headers = clientHead.headers
        let chunkedBody = !headers.contains(name: "content-length") && headers.contains(name: "transfer-encoding")
        self.removeHopByHop(from: &headers, extra: "expect")
        if chunkedBody {
            headers.add(name: "transfer-encoding", value: "chunked")
        }

        let existingFor = headers["x-forwarded-for"]
        if existingFor.isEmpty {
            headers.add(name: "x-forwarded-for", value: client.ip)
        } else {
            headers.remove(name: "x-forwarded-for")
            headers.add(name: "x-forwarded-for", value: existingFor.joined(separator: ", ") + ", " + client.ip)
        }
        headers.replaceOrAdd(name: "x-forwarded-proto", value: "http")
        headers.replaceOrAdd(name: "x-forwarded-host", value: host)
        let element = "for=\(client.forwardedNode);host=\(self.forwardedValue(host));proto=http"
        let existingForwarded = headers["forwarded"]
        if existingForwarded.isEmpty {
            headers.add(name: "forwarded", value: element)
        } else {
            headers.remove(name: "forwarded")
            headers.add(name: "forwarded", value: existingForwarded.joined(separator: ", ") + ", " + element)
        }
        return HTTPRequestHead(version: .http1_1, method: clientHead.method, uri: clientHead.uri, headers: headers)
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
        var found = false
        var listed: [String] = []
        for (name, value) in headers {
            switch self.hopByHopKind(name, extra: extra) {
            case .none:
                continue
            case .connection:
                found = true
                for token in value.split(separator: ",") {
                    let trimmed = token.trimmingASCIISpaces()
                    if !trimmed.isEmpty { listed.append(String(trimmed)) }
                }
            case .other:
                found = true
            }
        }
        guard found else { return }
        for name in self.hopByHopNames { headers.remove(name: name) }
        if let extra { headers.remove(name: extra) }
        for name in listed { headers.remove(name: name) }
    }

    private static let hopByHopNames = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    private enum HopByHopKind {
        case none
        case connection
        case other
    }

    private static func hopByHopKind(_ name: String, extra: String?) -> HopByHopKind {
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
