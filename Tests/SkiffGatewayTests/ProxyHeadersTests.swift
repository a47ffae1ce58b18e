import NIOCore
import NIOHTTP1
import SkiffHTTP1
import Testing

@testable import SkiffGateway

@Suite("ProxyHeaders")
struct ProxyHeadersTests {
    let client = ClientAddress(try? SocketAddress(ipAddress: "192.0.2.10", port: 5555))

    private func head(_ headers: [(String, String)], version: HTTPVersion = .http1_1) -> HTTP1Head {
        parsedRequest(HTTPRequestHead(version: version, method: .POST, uri: "/x", headers: HTTPHeaders(headers)))
    }

    @Test func addsForwardingHeaders() {
        let upstream = upstreamHead(
            from: self.head([("Host", "hello.localhost")]),
            host: "hello.localhost",
            client: self.client
        )
        #expect(upstream.headers["host"] == ["hello.localhost"])
        #expect(upstream.headers["x-forwarded-for"] == ["192.0.2.10"])
        #expect(upstream.headers["x-forwarded-proto"] == ["http"])
        #expect(upstream.headers["x-forwarded-host"] == ["hello.localhost"])
        #expect(upstream.headers["forwarded"] == ["for=192.0.2.10;host=hello.localhost;proto=http"])
        #expect(upstream.version == .http1_1)
        #expect(upstream.method == .POST)
        #expect(upstream.uri == "/x")
    }

    @Test func appendsToExistingForwardingChains() {
        let upstream = upstreamHead(
            from: self.head([
                ("Host", "hello.localhost:8080"), ("X-Forwarded-For", "10.1.1.1"), ("x-forwarded-for", "10.2.2.2"),
                ("Forwarded", "for=10.1.1.1"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil"),
            ]),
            host: "hello.localhost:8080",
            client: self.client
        )
        #expect(upstream.headers["x-forwarded-for"] == ["10.1.1.1, 10.2.2.2, 192.0.2.10"])
        #expect(
            upstream.headers["forwarded"] == ["for=10.1.1.1, for=192.0.2.10;host=\"hello.localhost:8080\";proto=http"])
        #expect(upstream.headers["x-forwarded-proto"] == ["http"])
        #expect(upstream.headers["x-forwarded-host"] == ["hello.localhost:8080"])
    }

    @Test func aConnectionListedForwardingHeaderIsDroppedNotJoinedEmpty() {
        let upstream = upstreamHead(
            from: self.head([
                ("Host", "hello.localhost"), ("Connection", "X-Forwarded-For, Forwarded"),
                ("X-Forwarded-For", "10.9.9.9"), ("Forwarded", "for=10.9.9.9"),
            ]),
            host: "hello.localhost",
            client: self.client
        )
        #expect(upstream.headers["x-forwarded-for"] == ["192.0.2.10"])
        #expect(upstream.headers["forwarded"] == ["for=192.0.2.10;host=hello.localhost;proto=http"])
        #expect(upstream.headers["connection"].isEmpty)
    }

    @Test func quotesIPv6ClientsInForwarded() throws {
        let v6 = ClientAddress(try SocketAddress(ipAddress: "2001:db8::1", port: 1))
        #expect(v6.ip == "2001:db8::1")
        #expect(v6.forwardedNode == "\"[2001:db8::1]\"")
        let unknown = ClientAddress(nil)
        #expect(unknown.forwardedNode == "unknown")
        #expect(ProxyHeaders.forwardedValue("a\"b") == "\"a\\\"b\"")
    }

    @Test func stripsHopByHopAndConnectionListedHeaders() {
        let upstream = upstreamHead(
            from: self.head([
                ("Host", "h.localhost"), ("Connection", "Keep-Alive, X-Private ,x-other"), ("X-Private", "1"),
                ("X-Other", "2"), ("Keep-Alive", "300"), ("Proxy-Connection", "keep-alive"), ("TE", "trailers"),
                ("Trailer", "x"), ("Upgrade", "h2c"), ("Expect", "100-continue"), ("Content-Length", "3"),
                ("X-Kept", "yes"),
            ]),
            host: "h.localhost",
            client: self.client
        )
        let names = Set(upstream.headers.map { $0.name.lowercased() })
        for name in [
            "connection", "x-private", "x-other", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
            "expect",
        ] {
            #expect(!names.contains(name), "\(name) was forwarded")
        }
        #expect(upstream.headers["content-length"] == ["3"])
        #expect(upstream.headers["x-kept"] == ["yes"])
    }

    @Test func reframesChunkedBodies() {
        let chunked = upstreamHead(
            from: self.head([("Host", "h.localhost"), ("Transfer-Encoding", "gzip, chunked")]),
            host: "h.localhost",
            client: self.client
        )
        #expect(chunked.headers["transfer-encoding"] == ["chunked"])
        let http10 = upstreamHead(
            from: self.head([("Host", "h.localhost")], version: .http1_0),
            host: "h.localhost",
            client: self.client
        )
        #expect(http10.version == .http1_1)
        #expect(!http10.headers.contains(name: "transfer-encoding"))
        #expect(!http10.headers.contains(name: "content-length"))
    }

    @Test func rewritesResponseHeadForTheClient() {
        let upstream = parsedResponse(
            "HTTP/1.1 200 Fine\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nTransfer-Encoding: chunked\r\nX-Kept: 1\r\n\r\n"
        )
        let keepAlive11 = clientHead(upstream, version: .http1_1, keepAlive: true)
        #expect(keepAlive11.headers.map(\.name) == ["X-Kept", "transfer-encoding"])
        #expect(keepAlive11.version == .http1_1)
        #expect(keepAlive11.reason == "Fine")
        let closing = clientHead(upstream, version: .http1_1, keepAlive: false)
        #expect(closing.headers.values(name: "connection") == ["close"])
        let keepAlive10 = clientHead(upstream, version: .http1_0, keepAlive: true)
        #expect(keepAlive10.headers.values(name: "connection") == ["keep-alive"])
        #expect(!keepAlive10.headers.contains(name: "transfer-encoding"))
        #expect(keepAlive10.version == .http1_0)
    }

    @Test(
        arguments: [
            (HTTP1Method.get, 200, "content-length: 5\r\n", HTTP1Version.http1_0, ProxyHeaders.ClientFraming.asIs),
            (.get, 200, "", .http1_0, .untilClose),
            (.get, 200, "", .http1_1, .chunked),
            (.get, 200, "transfer-encoding: chunked\r\n", .http1_1, .chunked),
            (.head, 200, "", .http1_0, .asIs),
            (.get, 204, "", .http1_0, .asIs),
            (.get, 304, "", .http1_0, .asIs),
        ] as [(HTTP1Method, Int, String, HTTP1Version, ProxyHeaders.ClientFraming)])
    func decidesHowTheClientFindsTheEnd(
        method: HTTP1Method,
        status: Int,
        fields: String,
        version: HTTP1Version,
        framing: ProxyHeaders.ClientFraming
    ) {
        let head = parsedResponse("HTTP/1.1 \(status) X\r\n\(fields)\r\n", to: method)
        #expect(ProxyHeaders.clientFraming(head, requestMethod: method, clientVersion: version) == framing)
    }
}

@Suite struct UpgradeForwardingTests {
    static let client = ClientAddress(try? SocketAddress(ipAddress: "10.0.0.9", port: 5000))

    static func webSocketHandshake() -> HTTP1Head {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/chat")
        head.headers.add(name: "Host", value: "chat.localhost")
        head.headers.add(name: "Connection", value: "Upgrade")
        head.headers.add(name: "Upgrade", value: "websocket")
        return parsedRequest(head)
    }

    @Test func anUpgradeToAnHTTP1InstanceIsPassedOn() {
        var options = ProxyHeaders.UpstreamOptions()
        options.mayUpgrade = true
        let result = ProxyHeaders.upstreamRequest(
            from: Self.webSocketHandshake(), host: "chat.localhost", client: Self.client, options: options)
        #expect(result.upgrade && result.upgradeAsked)
        #expect(sent(result.request).headers["upgrade"] == ["websocket"])
        #expect(sent(result.request).headers["connection"] == ["upgrade"])
    }

    @Test func anUpgradeThisHopCannotPassOnIsAskedButNotForwarded() {
        let result = ProxyHeaders.upstreamRequest(
            from: Self.webSocketHandshake(), host: "chat.localhost", client: Self.client,
            options: ProxyHeaders.UpstreamOptions())
        #expect(!result.upgrade && result.upgradeAsked)
        #expect(sent(result.request).headers["upgrade"].isEmpty)
        #expect(sent(result.request).headers["connection"].isEmpty)
    }

    @Test func anUpgradeHeaderWithoutConnectionUpgradeAsksNothing() {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        head.headers.add(name: "Host", value: "chat.localhost")
        head.headers.add(name: "Upgrade", value: "websocket")
        var options = ProxyHeaders.UpstreamOptions()
        options.mayUpgrade = true
        let result = ProxyHeaders.upstreamRequest(
            from: parsedRequest(head), host: "chat.localhost", client: Self.client, options: options)
        #expect(!result.upgrade && !result.upgradeAsked)
    }
}

/// The rewritten head alone, as the instance reads it, for the tests that look only at it.
private func upstreamHead(
    from head: HTTP1Head, host: String, client: ClientAddress, forwardedElement: String? = nil
) -> HTTPRequestHead {
    sent(
        ProxyHeaders.upstreamRequest(from: head, host: host, client: client, forwardedElement: forwardedElement).request
    )
}

/// A request head as the gateway's parser reads it from the bytes NIO would send.
private func parsedRequest(_ head: HTTPRequestHead) -> HTTP1Head {
    var text = "\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)\r\n"
    for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
    var bytes = ByteBuffer(string: text + "\r\n")
    var parser = HTTP1Parser(kind: .request)
    guard case .head(let parsed) = try? parser.next(from: &bytes) else {
        preconditionFailure("the test's request does not parse: \(text)")
    }
    return parsed
}

/// What an instance reads of `request`: its bytes, parsed again, as NIO's head.
private func sent(_ request: UpstreamRequest) -> HTTPRequestHead {
    var bytes = ByteBuffer()
    request.write(into: &bytes)
    var parser = HTTP1Parser(kind: .request)
    guard case .head(let parsed) = try? parser.next(from: &bytes) else {
        preconditionFailure("the rewritten request does not parse: \(String(buffer: bytes))")
    }
    return parsed.nioRequestHead
}

private func parsedResponse(_ text: String, to method: HTTP1Method = .get) -> HTTP1Head {
    var bytes = ByteBuffer(string: text)
    var parser = HTTP1Parser(kind: .response)
    parser.expectResponse(to: method)
    guard case .head(let parsed) = try? parser.next(from: &bytes) else {
        preconditionFailure("the test's response does not parse: \(text)")
    }
    return parsed
}

/// The head a client reads of `upstream`, framed as the gateway frames it.
private func clientHead(_ upstream: HTTP1Head, version: HTTP1Version, keepAlive: Bool) -> HTTP1Head {
    var bytes = ByteBuffer()
    let framing = ProxyHeaders.clientFraming(upstream, requestMethod: .get, clientVersion: version)
    ProxyHeaders.writeClientResponseHead(
        upstream, version: version, keepAlive: keepAlive, framing: framing, into: &bytes)
    return parsedResponse(String(buffer: bytes))
}
