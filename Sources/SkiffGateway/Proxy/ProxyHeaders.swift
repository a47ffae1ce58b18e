import NIOCore
import NIOHPACK
import NIOHTTP1
import SkiffHTTP1

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

    /// A client's request as rewritten for the instance, and what the rewrite found.
    struct UpstreamRewrite {
        var request: UpstreamRequest
        /// The forwarded head asks the instance to switch protocols.
        var upgrade = false
        /// The client asked to switch protocols (the parser reads nothing more on that
        /// connection either way).
        var upgradeAsked = false
        /// The client sent `Expect: 100-continue`.
        var expectsContinue = false
    }

    /// The request to send upstream.
    ///
    /// Always HTTP/1.1 so the backend connection can be kept alive. `Expect` is dropped
    /// because the proxy answers `100-continue` itself. Framing is set explicitly
    /// (`content-length` kept, otherwise `transfer-encoding: chunked` if the client sent a body).
    static func upstreamRequest(
        from clientHead: HTTP1Head,
        host: String,
        client: ClientAddress,
        forwardedElement: String? = nil,
        options: UpstreamOptions = UpstreamOptions()
    ) -> UpstreamRewrite {
        var head = clientHead
        // One scan tells which rewrites apply; most requests carry none of these headers.
        var seen = SeenRequestHeaders()
        for index in head.headers.indices { seen.note(head.headers.nameBytes(at: index)) }

        var added = UpstreamRequest.AddedFields(
            xForwardedFor: client.ip, xForwardedHost: host,
            forwarded: forwardedElement ?? self.forwardedElement(host: host, client: client))
        var upgrade = false
        var upgradeAsked = false
        var expectsContinue = false
        if seen.hopByHop || seen.expect {
            // Read before the strip: what the client asked to switch to, whether it accepts
            // trailers, and whether it waits for 100 Continue.
            let requested = clientHead.version == .http1_1 ? self.requestedUpgrade(head.headers) : nil
            upgradeAsked = requested != nil
            if options.mayUpgrade, let requested {
                added.upgrade = requested
                upgrade = true
            }
            expectsContinue =
                seen.expect
                && head.headers.values(name: "expect").contains { $0.equalsIgnoringASCIICase("100-continue") }
            added.chunked = !seen.contentLength && seen.transferEncoding
            added.trailersTE =
                options.keepTrailersTE && head.headers.values(name: "te").contains { $0.contains("trailers") }
            self.removeHopByHop(from: &head.headers, extra: "expect")
        }
        if options.chunkUnframedBody, !seen.contentLength, !seen.transferEncoding {
            added.chunked = true
        }
        // (A `Connection` header may have named one of these, so look again before joining.)
        if seen.xForwardedFor {
            let existing = head.headers.values(name: "x-forwarded-for")
            if !existing.isEmpty {
                head.headers.removeAll(name: "x-forwarded-for")
                added.xForwardedFor = existing.joined(separator: ", ") + ", " + client.ip
            }
        }
        if seen.xForwardedProto { head.headers.removeAll(name: "x-forwarded-proto") }
        if seen.xForwardedHost { head.headers.removeAll(name: "x-forwarded-host") }
        if seen.forwarded {
            let existing = head.headers.values(name: "forwarded")
            if !existing.isEmpty {
                head.headers.removeAll(name: "forwarded")
                added.forwarded = existing.joined(separator: ", ") + ", " + added.forwarded
            }
        }
        return UpstreamRewrite(
            request: UpstreamRequest(head: head, added: added), upgrade: upgrade, upgradeAsked: upgradeAsked,
            expectsContinue: expectsContinue)
    }

    /// The protocols an HTTP/1.1 request asks to switch to: its `Upgrade` value when
    /// `Connection` names `upgrade` too (as llhttp, which then stops parsing the connection).
    static func requestedUpgrade(_ headers: HTTP1Headers) -> String? {
        guard let protocols = headers.first(name: "upgrade"), !protocols.isEmpty else { return nil }
        return self.lists(headers, "connection", token: "upgrade") ? protocols : nil
    }

    /// Whether a comma-separated header (`Connection`, `Upgrade`) lists `token`, in any case.
    static func lists(_ headers: HTTP1Headers, _ name: String, token: String) -> Bool {
        headers.values(name: name).contains { value in
            value.split(separator: ",").contains { $0.trimmingASCIISpaces().lowercased() == token }
        }
    }

    /// Writes the `101 Switching Protocols` head for an HTTP/1.1 client: the instance's fields
    /// without the other hop-by-hop ones, announcing the protocol it switched to.
    static func writeSwitchingHead(_ upstreamHead: HTTP1Head, into buffer: inout ByteBuffer) {
        var headers = upstreamHead.headers
        let switchedTo = headers.first(name: "upgrade")
        self.removeHopByHop(from: &headers, extra: nil)
        buffer.writeStaticString("HTTP/1.1 101 Switching Protocols\r\n")
        headers.write(into: &buffer)
        buffer.writeStaticString("connection: upgrade\r\n")
        if let switchedTo {
            buffer.writeStaticString("upgrade: ")
            buffer.writeString(switchedTo)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
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

        mutating func note(_ name: ByteBufferView) {
            // Cheap length filter first: most header names match none of these lengths.
            switch name.count {
            case 6:
                if name.equalsCaseInsensitive("expect") { self.expect = true }
            case 9:
                if name.equalsCaseInsensitive("forwarded") { self.forwarded = true }
            case 14:
                if name.equalsCaseInsensitive("content-length") { self.contentLength = true }
            case 15:
                if name.equalsCaseInsensitive("x-forwarded-for") { self.xForwardedFor = true }
            case 16:
                if name.equalsCaseInsensitive("x-forwarded-host") { self.xForwardedHost = true }
            case 17:
                if name.equalsCaseInsensitive("x-forwarded-proto") {
                    self.xForwardedProto = true
                    return
                }
                if name.equalsCaseInsensitive("transfer-encoding") { self.transferEncoding = true }
            default:
                break
            }
            if ProxyHeaders.hopByHopKind(name, extra: nil) != .none { self.hopByHop = true }
        }
    }

    /// How the body of a response reaches an HTTP/1 client.
    enum ClientFraming: Equatable {
        /// As the instance framed it: no body, or its `content-length`.
        case asIs
        /// Chunked by the gateway (the instance chunked it, or its end is its connection's close).
        case chunked
        /// Without framing: its end is the client connection's close (an HTTP/1.0 client).
        case untilClose
    }

    /// How the response to a `requestMethod` request reaches a client speaking `clientVersion`.
    static func clientFraming(
        _ head: HTTP1Head, requestMethod: HTTP1Method, clientVersion: HTTP1Version
    ) -> ClientFraming {
        let code = head.status
        if requestMethod == .head || code < 200 || code == 204 || code == 304 {
            return .asIs
        }
        switch head.framing {
        case .none, .contentLength:
            return .asIs
        case .chunked, .untilClose:
            return clientVersion == .http1_1 ? .chunked : .untilClose
        }
    }

    /// Writes the response head for an HTTP/1 client: hop-by-hop fields stripped, the
    /// client's HTTP version, its framing, and `Connection` saying what happens to the client
    /// connection.
    static func writeClientResponseHead(
        _ upstreamHead: HTTP1Head,
        version: HTTP1Version,
        keepAlive: Bool,
        framing: ClientFraming,
        into buffer: inout ByteBuffer
    ) {
        let headers = upstreamHead.headers
        let status = upstreamHead.status
        buffer.writeStaticString(version == .http1_1 ? "HTTP/1.1 " : "HTTP/1.0 ")
        buffer.writeInteger(UInt8(48 + status / 100 % 10))
        buffer.writeInteger(UInt8(48 + status / 10 % 10))
        buffer.writeInteger(UInt8(48 + status % 10))
        buffer.writeStaticString(" ")
        buffer.writeBytes(upstreamHead.reasonBytes)
        buffer.writeStaticString("\r\n")
        // Nearly every response names `Connection`: the fields are written around the
        // hop-by-hop ones rather than copied without them first.
        if let hopByHop = HopByHop(headers, extra: nil) {
            headers.write(into: &buffer, omitting: hopByHop.matches)
        } else {
            headers.write(into: &buffer)
        }
        if framing == .chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        if !keepAlive {
            buffer.writeStaticString("connection: close\r\n")
        } else if version == .http1_0 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    /// The response head for an HTTP/2 client, as a HEADERS block: `:status`, then the
    /// instance's fields without the hop-by-hop ones (which HTTP/2 forbids), names in lower
    /// case as HTTP/2 requires.
    static func streamResponseHeaders(_ upstreamHead: HTTP1Head) -> HPACKHeaders {
        var headers = upstreamHead.headers
        self.removeHopByHop(from: &headers, extra: nil)
        var block = HPACKHeaders()
        block.reserveCapacity(headers.count + 1)
        block.add(name: ":status", value: String(upstreamHead.status))
        self.addLowercased(headers, to: &block)
        return block
    }

    /// Trailers for an HTTP/2 client.
    static func streamTrailers(_ trailers: HTTP1Headers) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(trailers.count)
        self.addLowercased(trailers, to: &block)
        return block
    }

    private static func addLowercased(_ headers: HTTP1Headers, to block: inout HPACKHeaders) {
        for index in headers.indices {
            let name = headers.nameBytes(at: index)
            let isLowercase = !name.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
            let text = String(decoding: name, as: UTF8.self)
            block.add(name: isLowercase ? text : text.lowercased(), value: headers.value(at: index))
        }
    }

    /// Removes the headers that describe one connection rather than the message (RFC 9110
    /// §7.6.1): `Connection` and the names it lists, plus the fixed hop-by-hop set.
    /// Scans once and does nothing more in the common case where none are present.
    static func removeHopByHop(from headers: inout HTTP1Headers, extra: String?) {
        guard let hopByHop = HopByHop(headers, extra: extra) else { return }
        headers.removeAll(where: hopByHop.matches)
    }

    /// The hop-by-hop fields of one head, picked by name: the fixed set, `extra`, and the
    /// names its `Connection` fields list.
    struct HopByHop {
        /// Names `Connection` lists beyond the fixed set: nearly always none (`keep-alive`,
        /// `close`, `upgrade`), so the usual head allocates nothing here.
        private var listed: [String] = []
        private let extra: String?

        /// Nil when `headers` has none.
        init?(_ headers: HTTP1Headers, extra: String?) {
            self.extra = extra
            var present = false
            for index in headers.indices {
                switch ProxyHeaders.hopByHopKind(headers.nameBytes(at: index), extra: extra) {
                case .none:
                    continue
                case .connection:
                    present = true
                    ProxyHeaders.forEachToken(in: headers.valueBytes(at: index)) { token in
                        guard !token.equalsCaseInsensitive("close"),
                            ProxyHeaders.hopByHopKind(token, extra: extra) == .none
                        else {
                            return
                        }
                        self.listed.append(String(decoding: token, as: UTF8.self).lowercased())
                    }
                case .other:
                    present = true
                }
            }
            guard present else { return nil }
        }

        func matches(_ name: ByteBufferView) -> Bool {
            ProxyHeaders.hopByHopKind(name, extra: self.extra) != .none
                || self.listed.contains { name.equalsCaseInsensitive($0) }
        }
    }

    /// Calls `body` with each element of a comma-separated list, without its surrounding
    /// spaces and tabs, skipping empty ones.
    fileprivate static func forEachToken(in value: ByteBufferView, _ body: (ByteBufferView) -> Void) {
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = value.startIndex
        while start < value.endIndex {
            let end = value[start...].firstIndex(of: UInt8(ascii: ",")) ?? value.endIndex
            var low = start
            var high = end
            while low < high, isSpace(value[low]) { low += 1 }
            while high > low, isSpace(value[high - 1]) { high -= 1 }
            if low < high { body(value[low..<high]) }
            start = end + 1
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

    fileprivate static func hopByHopKind(_ name: ByteBufferView, extra: String?) -> HopByHopKind {
        let count = name.count
        // Cheap length filter before any comparison: most headers are none of these.
        switch count {
        case 2, 6, 7, 10, 16, 17:
            break
        default:
            return .none
        }
        if name.equalsCaseInsensitive("connection") { return .connection }
        for candidate in self.hopByHopNames where candidate.utf8.count == count {
            if name.equalsCaseInsensitive(candidate) { return .other }
        }
        if let extra, extra.utf8.count == count, name.equalsCaseInsensitive(extra) { return .other }
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
