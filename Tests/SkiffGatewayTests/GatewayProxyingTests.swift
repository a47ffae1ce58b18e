import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import SkiffGateway

@Suite("Gateway proxying")
struct GatewayProxyingTests {
    @Test func addsForwardingHeadersAndKeepsHost() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    let host = fixture.host("hello")
                    let response = try await connection.request(
                        .GET, "/path?q=1", host: host,
                        headers: [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")]
                    )
                    #expect(response.status == .ok)
                    #expect(response.echoedField("uri") == "/path?q=1")
                    #expect(response.echoedAll("host") == [host])
                    #expect(response.echoedAll("x-forwarded-for") == ["203.0.113.7, 127.0.0.1"])
                    #expect(response.echoedAll("x-forwarded-proto") == ["http"])
                    #expect(response.echoedAll("x-forwarded-host") == [host])
                    #expect(response.echoedAll("forwarded") == ["for=127.0.0.1;host=\"\(host)\";proto=http"])
                }
            }
        }
    }

    @Test func stripsHopByHopHeadersBothWays() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    let response = try await connection.request(
                        host: fixture.host("hello"),
                        headers: [
                            ("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "300"),
                            ("TE", "trailers"), ("Upgrade", "websocket"), ("Proxy-Connection", "keep-alive"),
                            ("Trailer", "x-checksum"), ("X-Kept", "yes"),
                        ]
                    )
                    for name in [
                        "connection", "x-secret", "keep-alive", "te", "upgrade", "proxy-connection", "trailer",
                    ] {
                        #expect(response.echoed(name) == nil, "\(name) reached the backend")
                    }
                    #expect(response.echoed("x-kept") == "yes")

                    let hop = try await connection.request(.GET, "/hop", host: fixture.host("hello"))
                    for name in ["x-hop", "keep-alive", "upgrade", "proxy-connection", "connection"] {
                        #expect(!hop.head.headers.contains(name: name), "\(name) reached the client")
                    }
                    #expect(hop.head.headers["x-end-to-end"] == ["kept"])
                    #expect(hop.body == "hop")
                }
            }
        }
    }

    @Test func reusesOneBackendConnectionPerLoop() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table, threads: 1) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    for index in 0..<100 {
                        let response = try await connection.request(.GET, "/\(index)", host: fixture.host("hello"))
                        #expect(response.status == .ok)
                    }
                }
                // A second client connection on the same loop reuses the pooled connection too.
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    for _ in 0..<20 {
                        do {
                            let response = try await connection.request(host: fixture.host("hello"))
                            #expect(response.status == .ok)
                        }
                    }
                }
            }
            #expect(backend.accepted == 1)
        }
    }

    @Test func balancesToBackendWithFewestInFlight() async throws {
        try await TestBackend.with(name: "a") { a in
            try await TestBackend.with(name: "b") { b in
                let table = RoutingTable()
                table.route("hello", to: "hello-00001", backends: [a.backend, b.backend])
                try await withGateway(table: table, threads: 2) { fixture in
                    try await withThrowingTaskGroup(of: TestResponse.self) { group in
                        group.addTask {
                            try await TestHTTPConnection.with(port: fixture.port) { connection in
                                try await connection.request(.GET, "/slow", host: fixture.host("hello"))
                            }
                        }
                        // Whichever backend got the slow request, the other must get the rest.
                        let slowBackend = try await Self.firstArrival(a, b)
                        #expect(table.inFlight(backendID: slowBackend.name) == 1)
                        #expect(table.inFlight(revision: "hello-00001") == 1)
                        let other = slowBackend === a ? b : a
                        try await TestHTTPConnection.with(port: fixture.port) { connection in
                            for _ in 0..<10 {
                                let response = try await connection.request(host: fixture.host("hello"))
                                #expect(response.echoedField("backend") == other.name)
                            }
                        }
                        slowBackend.release.signal()
                        let slow = try await group.next()
                        #expect(slow?.status == .ok)
                        #expect(slow?.echoedField("backend") == slowBackend.name)
                    }
                    #expect(table.inFlight(revision: "hello-00001") == 0)
                }
            }
        }
    }

    /// Waits for the slow request to arrive at either backend.
    private static func firstArrival(_ a: TestBackend, _ b: TestBackend) async throws -> TestBackend {
        try await withThrowingTaskGroup(of: TestBackend?.self) { group in
            group.addTask {
                await a.arrivals.wait()
                return a
            }
            group.addTask {
                await b.arrivals.wait()
                return b
            }
            guard let first = try await group.next(), let backend = first else {
                throw TestFailure("no arrival")
            }
            // Unblock the other waiter so the group can finish.
            (backend === a ? b : a).arrivals.signal()
            _ = try await group.next()
            return backend
        }
    }

    @Test func removedBackendFinishesInFlightRequest() async throws {
        try await TestBackend.with(name: "old") { old in
            try await TestBackend.with(name: "new") { new in
                let table = RoutingTable()
                table.route("hello", to: "hello-00001", backends: [old.backend])
                try await withGateway(table: table) { fixture in
                    try await withThrowingTaskGroup(of: TestResponse.self) { group in
                        group.addTask {
                            try await TestHTTPConnection.with(port: fixture.port) { connection in
                                try await connection.request(.GET, "/slow", host: fixture.host("hello"))
                            }
                        }
                        await old.arrivals.wait()
                        table.route("hello", to: "hello-00001", backends: [new.backend])
                        #expect(table.inFlight(backendID: "old") == 1)
                        try await TestHTTPConnection.with(port: fixture.port) { connection in
                            let response = try await connection.request(host: fixture.host("hello"))
                            #expect(response.echoedField("backend") == "new")
                        }
                        old.release.signal()
                        let slow = try await group.next()
                        #expect(slow?.status == .ok)
                        #expect(slow?.echoedField("backend") == "old")
                    }
                    #expect(table.inFlight(backendID: "old") == 0)
                    #expect(table.inFlight(revision: "hello-00001") == 0)
                }
            }
        }
    }

    @Test func retriesWhenPooledConnectionWasClosedByBackend() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    for _ in 0..<20 {
                        let closing = try await connection.request(.GET, "/close-after", host: fixture.host("hello"))
                        #expect(closing.status == .ok)
                        let next = try await connection.request(host: fixture.host("hello"))
                        #expect(next.status == .ok)
                    }
                }
            }
        }
    }

    @Test func headAndNoContentResponsesHaveNoBody() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    let head = try await connection.request(.HEAD, "/head-test", host: fixture.host("hello"))
                    #expect(head.status == .ok)
                    #expect(head.head.headers["content-length"] == ["100"])
                    #expect(head.bodyBytes == 0)
                    let empty = try await connection.request(.GET, "/no-content", host: fixture.host("hello"))
                    #expect(empty.status == .noContent)
                    #expect(empty.bodyBytes == 0)
                    // The connection is still in sync.
                    let get = try await connection.request(.GET, "/head-test", host: fixture.host("hello"))
                    #expect(get.bodyBytes == 100)
                }
            }
        }
    }

    @Test func chunkedRequestBodyIsForwarded() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")
                    head.headers.add(name: "host", value: fixture.host("hello"))
                    head.headers.add(name: "transfer-encoding", value: "chunked")
                    try await connection.outbound.write(.head(head))
                    for size in [1, 100, 4096, 70_000] {
                        try await connection.outbound.write(.body(.byteBuffer(Pattern.buffer(offset: 0, count: size))))
                    }
                    try await connection.outbound.write(.end(nil))
                    let response = try await connection.readResponse()
                    #expect(response.status == .ok)
                    #expect(response.echoedField("body-bytes") == "\(1 + 100 + 4096 + 70_000)")
                    #expect(response.echoed("transfer-encoding") == "chunked")
                }
            }
        }
    }

    @Test func http10ClientsWork() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                // Without keep-alive: the gateway closes after the response.
                try await RawConnection.with(port: fixture.port) { connection in
                    try await connection.send("GET /old HTTP/1.0\r\nHost: hello.localhost\r\n\r\n")
                    let response = try await connection.readToEnd()
                    #expect(response.hasPrefix("HTTP/1.0 200 OK\r\n"))
                    #expect(response.contains("backend=a"))
                }
                // With keep-alive and a length-framed response, the connection stays open.
                try await RawConnection.with(port: fixture.port) { connection in
                    for _ in 0..<2 {
                        try await connection.send(
                            "GET /old HTTP/1.0\r\nHost: hello.localhost\r\nConnection: keep-alive\r\n\r\n")
                        let head = try await connection.read(through: "\r\n\r\n")
                        #expect(head.hasPrefix("HTTP/1.0 200 OK\r\n"))
                        #expect(head.lowercased().contains("connection: keep-alive"))
                        _ = try await connection.read(through: "body-bytes=0\n")
                    }
                }
                // A chunked backend response to a 1.0 client is delimited by closing.
                try await RawConnection.with(port: fixture.port) { connection in
                    try await connection.send(
                        "GET /download?bytes=1000 HTTP/1.0\r\nHost: hello.localhost\r\nConnection: keep-alive\r\n\r\n"
                    )
                    let response = try await connection.readToEnd()
                    #expect(response.hasPrefix("HTTP/1.0 200 OK\r\n"))
                    #expect(response.lowercased().contains("connection: close"))
                    #expect(!response.lowercased().contains("transfer-encoding"))
                }
            }
        }
    }

    @Test func answersPipelinedRequestsInOrder() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await RawConnection.with(port: fixture.port) { connection in
                    try await connection.send(
                        "GET /first HTTP/1.1\r\nHost: hello.localhost\r\n\r\n"
                            + "HEAD /head-test HTTP/1.1\r\nHost: hello.localhost\r\n\r\n"
                            + "GET /nowhere HTTP/1.1\r\nHost: nope.localhost\r\n\r\n"
                            + "POST /third HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 3\r\n\r\nabc"
                    )
                    let first = try await connection.read(through: "body-bytes=0\n")
                    #expect(first.contains("uri=/first"))
                    let head = try await connection.read(through: "\r\n\r\n")
                    #expect(head.hasPrefix("HTTP/1.1 200 OK"))
                    #expect(head.contains("content-length: 100"))
                    let notFound = try await connection.read(through: "\"nope.localhost\"\n")
                    #expect(notFound.hasPrefix("HTTP/1.1 404 Not Found"))
                    let third = try await connection.read(through: "body-bytes=3\n")
                    #expect(third.hasPrefix("HTTP/1.1 200 OK"))
                    #expect(third.contains("uri=/third"))
                }
            }
        }
    }

    @Test func expectContinueDoesNotHang() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await RawConnection.with(port: fixture.port) { connection in
                    try await connection.send(
                        "POST /upload HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
                    )
                    let interim = try await connection.read(through: "\r\n\r\n")
                    #expect(interim.hasPrefix("HTTP/1.1 100 Continue"))
                    try await connection.send("hello")
                    let final = try await connection.read(through: "bytes=5")
                    #expect(final.hasPrefix("HTTP/1.1 200 OK"))
                }
            }
        }
    }
}
