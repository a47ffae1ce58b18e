import NIOCore
import NIOHTTP1
import Testing

@testable import SkiffGateway

@Suite("ProxyHeaders")
struct ProxyHeadersTests {
    let client = ClientAddress(try? SocketAddress(ipAddress: "192.0.2.10", port: 5555))

    private func head(_ headers: [(String, String)], version: HTTPVersion = .http1_1) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: .POST, uri: "/x", headers: HTTPHeaders(headers))
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
        let upstream = HTTPResponseHead(
            version: .http1_1,
            status: .ok,
            headers: HTTPHeaders([
                ("Connection", "close, X-Hop"), ("X-Hop", "1"), ("Transfer-Encoding", "chunked"), ("X-Kept", "1"),
            ])
        )
        let keepAlive11 = ProxyHeaders.clientResponseHead(from: upstream, version: .http1_1, keepAlive: true)
        #expect(keepAlive11.headers.map(\.name) == ["X-Kept"])
        #expect(keepAlive11.version == .http1_1)
        let closing = ProxyHeaders.clientResponseHead(from: upstream, version: .http1_1, keepAlive: false)
        #expect(closing.headers["connection"] == ["close"])
        let keepAlive10 = ProxyHeaders.clientResponseHead(from: upstream, version: .http1_0, keepAlive: true)
        #expect(keepAlive10.headers["connection"] == ["keep-alive"])
        #expect(keepAlive10.version == .http1_0)
    }

    @Test(
        arguments: [
            (HTTPMethod.GET, HTTPResponseStatus.ok, [("content-length", "5")], HTTPVersion.http1_0, true),
            (.GET, .ok, [], .http1_0, false),
            (.GET, .ok, [], .http1_1, true),
            (.HEAD, .ok, [], .http1_0, true),
            (.GET, .noContent, [], .http1_0, true),
            (.GET, .notModified, [], .http1_0, true),
        ] as [(HTTPMethod, HTTPResponseStatus, [(String, String)], HTTPVersion, Bool)])
    func decidesWhetherTheClientCanFindTheEnd(
        method: HTTPMethod,
        status: HTTPResponseStatus,
        headers: [(String, String)],
        version: HTTPVersion,
        framed: Bool
    ) {
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))
        #expect(ProxyHeaders.isFramedForClient(head, requestMethod: method, clientVersion: version) == framed)
    }
}

@Suite struct UpgradeForwardingTests {
    static let client = ClientAddress(try? SocketAddress(ipAddress: "10.0.0.9", port: 5000))

    static func webSocketHandshake() -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/chat")
        head.headers.add(name: "Host", value: "chat.localhost")
        head.headers.add(name: "Connection", value: "Upgrade")
        head.headers.add(name: "Upgrade", value: "websocket")
        return head
    }

    @Test func anUpgradeToAnHTTP1InstanceIsPassedOn() {
        var options = ProxyHeaders.UpstreamOptions()
        options.mayUpgrade = true
        let result = ProxyHeaders.upstreamRequestHead(
            from: Self.webSocketHandshake(), host: "chat.localhost", client: Self.client, options: options)
        #expect(result.upgrade && result.upgradeAsked)
        #expect(result.head.headers["upgrade"] == ["websocket"])
        #expect(result.head.headers["connection"] == ["upgrade"])
    }

    @Test func anUpgradeThisHopCannotPassOnIsAskedButNotForwarded() {
        let result = ProxyHeaders.upstreamRequestHead(
            from: Self.webSocketHandshake(), host: "chat.localhost", client: Self.client,
            options: ProxyHeaders.UpstreamOptions())
        #expect(!result.upgrade && result.upgradeAsked)
        #expect(result.head.headers["upgrade"].isEmpty)
        #expect(result.head.headers["connection"].isEmpty)
    }

    @Test func anUpgradeHeaderWithoutConnectionUpgradeAsksNothing() {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        head.headers.add(name: "Host", value: "chat.localhost")
        head.headers.add(name: "Upgrade", value: "websocket")
        var options = ProxyHeaders.UpstreamOptions()
        options.mayUpgrade = true
        let result = ProxyHeaders.upstreamRequestHead(
            from: head, host: "chat.localhost", client: Self.client, options: options)
        #expect(!result.upgrade && !result.upgradeAsked)
    }
}

/// The rewritten head alone, for the tests that look only at it.
private func upstreamHead(
    from head: HTTPRequestHead, host: String, client: ClientAddress, forwardedElement: String? = nil
) -> HTTPRequestHead {
    ProxyHeaders.upstreamRequestHead(from: head, host: host, client: client, forwardedElement: forwardedElement).head
}
