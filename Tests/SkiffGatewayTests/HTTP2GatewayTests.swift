import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import SkiffGateway

/// HTTP/2 through a real gateway: from clients with prior knowledge (each stream a routed and
/// counted request), to instances whose port says h2c (streams on one pooled connection,
/// trailers through), and gRPC's deadline and status.
@Suite("Gateway HTTP/2", .timeLimit(.minutes(1)))
struct HTTP2GatewayTests {
    static let revision = "hello-00001"
    static let h2c = RevisionSettings(upstreamProtocol: .h2c)

    /// An h2c test instance routed as `hello`, behind a gateway with one event loop.
    static func withH2CInstance(
        _ body: (HTTP2TestBackend, RoutingTable, GatewayFixture) async throws -> Void
    ) async throws {
        try await HTTP2TestBackend.with(name: "grpc") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, settings: Self.h2c, backends: [backend.backend])
            try await withGateway(table: table) { fixture in try await body(backend, table, fixture) }
        }
    }

    // MARK: HTTP/2 clients, HTTP/1.1 instances

    @Test func aGetOverHTTP2ReachesAnHTTP1Instance() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let response = try await client.request(.GET, "/path?q=1", host: fixture.host("hello"))
                    #expect(response.status == .ok)
                    #expect(response.echoedField("method") == "GET")
                    #expect(response.echoedField("uri") == "/path?q=1")
                    #expect(response.echoedField("version") == "HTTP/1.1")
                    #expect(response.echoed("host") == fixture.host("hello"))
                    #expect(response.echoed("x-forwarded-for") == "127.0.0.1")
                    #expect(response.echoedField("body-bytes") == "0")
                    #expect(response.head.headers["x-backend"] == ["a"])
                    // HTTP/1.1 framing stays on the instance's side.
                    for name in ["connection", "transfer-encoding", "keep-alive"] {
                        #expect(!response.head.headers.contains(name: name), "\(name) reached an HTTP/2 client")
                    }
                }
            }
        }
    }

    @Test(arguments: [false, true])
    func aBodyWithoutLengthReachesTheInstanceWhole(withLength: Bool) async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let size = 300_000
                    let headers = withLength ? [("content-length", String(size))] : []
                    let response = try await client.request(
                        .POST, "/upload", host: fixture.host("hello"), headers: headers,
                        body: Pattern.buffer(offset: 0, count: size))
                    #expect(response.status == .ok)
                    #expect(response.text == "bytes=\(size)")
                }
            }
        }
    }

    /// A body far larger than the instance's socket holds: the gateway stops reading the
    /// stream whenever the instance's connection is full and resumes it, many times, and the
    /// client's flow-control window must keep being replenished until the whole body is in.
    @Test(.timeLimit(.minutes(1)))
    func aBodyThatFillsTheInstancesConnectionManyTimesReachesItWhole() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let size = 32 << 20
                    let response = try await client.request(
                        .POST, "/upload", host: fixture.host("hello"), headers: [("content-length", String(size))],
                        body: Pattern.buffer(offset: 0, count: size), chunk: 1 << 20)
                    #expect(response.status == .ok)
                    #expect(response.text == "bytes=\(size)")
                }
            }
        }
    }

    /// An instance that answers before it has read the body (here 413): the answer reaches the
    /// client whole and the connection carries the next request. (The gateway then resets the
    /// stream with NO_ERROR so that the client stops sending, RFC 9113 §8.1.)
    @Test(.timeLimit(.minutes(1)))
    func anAnswerBeforeTheWholeBodyEndsTheStreamAndTheConnectionGoesOn() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let size = 8 << 20
                    let refused = try await client.request(
                        .POST, "/reject", host: fixture.host("hello"), headers: [("content-length", String(size))],
                        body: Pattern.buffer(offset: 0, count: size), chunk: 1 << 20)
                    #expect(refused.status == .payloadTooLarge)
                    #expect(refused.text == "too large")
                    let next = try await client.request(.GET, "/after", host: fixture.host("hello"))
                    #expect(next.status == .ok)
                }
            }
        }
    }

    @Test func fiftyConcurrentStreamsOnOneConnectionAreAllAnswered() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let host = fixture.host("hello")
                    let answered = try await withThrowingTaskGroup(of: (Int, HTTP2TestResponse).self) { group in
                        for index in 0..<50 {
                            group.addTask { (index, try await client.request(.GET, "/stream/\(index)", host: host)) }
                        }
                        var answered: [Int: HTTP2TestResponse] = [:]
                        for try await (index, response) in group { answered[index] = response }
                        return answered
                    }
                    #expect(answered.count == 50)
                    for (index, response) in answered {
                        #expect(response.status == .ok)
                        #expect(response.echoedField("uri") == "/stream/\(index)")
                    }
                }
                try await pollUntil("every stream releases its capacity") {
                    table.inFlight(revision: Self.revision) == 0
                }
            }
        }
    }

    @Test func aHeadRequestGetsTheHeadAlone() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let head = try await client.request(.HEAD, "/head-test", host: fixture.host("hello"))
                    #expect(head.status == .ok)
                    #expect(head.head.headers["content-length"] == ["100"])
                    #expect(head.body.readableBytes == 0)
                    // The connection is still good for the next stream.
                    let get = try await client.request(.GET, "/head-test", host: fixture.host("hello"))
                    #expect(get.body.readableBytes == 100)
                }
            }
        }
    }

    @Test func anUnknownHostIsAnsweredOnItsOwnStreamOnly() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let good = fixture.host("hello")
                    let bad = fixture.host("nosuch")
                    let statuses = try await withThrowingTaskGroup(of: (String, HTTPResponseStatus).self) { group in
                        for index in 0..<10 {
                            let host = index == 4 ? bad : good
                            group.addTask { (host, try await client.request(host: host).status) }
                        }
                        var statuses: [(String, HTTPResponseStatus)] = []
                        for try await result in group { statuses.append(result) }
                        return statuses
                    }
                    #expect(statuses.filter { $0.0 == bad }.map(\.1) == [.notFound])
                    #expect(statuses.filter { $0.0 == good }.map(\.1) == Array(repeating: .ok, count: 9))
                    // And after it, on the same connection.
                    #expect(try await client.request(host: bad).status == .notFound)
                    #expect(try await client.request(host: good).status == .ok)
                }
            }
        }
    }

    @Test func eachStreamIsARequestInFlight() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let host = fixture.host("hello")
                    try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                        group.addTask { try await client.request(.GET, "/slow", host: host).status }
                        group.addTask { try await client.request(.GET, "/slow", host: host).status }
                        await backend.arrivals.wait()
                        await backend.arrivals.wait()
                        #expect(table.inFlight(revision: Self.revision) == 2)
                        backend.release.signal()
                        backend.release.signal()
                        for try await status in group { #expect(status == .ok) }
                    }
                }
                try await pollUntil("the streams release their capacity") {
                    table.inFlight(revision: Self.revision) == 0
                }
            }
        }
    }

    @Test func aClientResettingAStreamEndsThatRequestOnly() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let stream = try await client.send(.GET, "/slow", host: fixture.host("hello"))
                    await backend.arrivals.wait()
                    #expect(table.inFlight(revision: Self.revision) == 1)
                    // (Not awaited: NIO's client completes that close only with the connection.)
                    stream.channel.close(promise: nil)
                    try await pollUntil("the reset stream releases its capacity") {
                        table.inFlight(revision: Self.revision) == 0
                    }
                    #expect(try await client.request(host: fixture.host("hello")).status == .ok)
                }
                backend.release.signal()
            }
        }
    }

    @Test func trailersOfAChunkedHTTP1ResponseReachAnHTTP2Client() async throws {
        let chunked =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n"
            + "5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc123\r\n\r\n"
        try await RawBackend.with(name: "a", behaviour: .canned(chunked)) { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    for _ in 0..<2 {
                        let response = try await client.request(host: fixture.host("hello"))
                        #expect(response.status == .ok)
                        #expect(response.text == "hello world")
                        #expect(response.trailers?["x-checksum"] == ["abc123"])
                        #expect(response.frames.last?.endsStream == true)
                    }
                }
            }
            #expect(backend.accepted == 1, "the instance's connection is pooled between streams")
        }
    }

    // MARK: Malformed HTTP/2

    /// RFC 9113 §3.4 allows omitting the GOAWAY after a bad preface; if one is sent, its code
    /// is PROTOCOL_ERROR. Either way the connection closes, and no other is touched.
    @Test func aMalformedPrefaceClosesThatConnectionOnly() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    #expect(try await client.request(host: fixture.host("hello")).status == .ok)
                    let frames = try await ByteConnection.with(port: fixture.port) { connection in
                        try await connection.send("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
                        return Self.frames(in: await connection.readToEnd())
                    }
                    for goAway in frames where goAway.type == 7 {
                        #expect(goAway.errorCode == 1, "GOAWAY after a bad preface must say PROTOCOL_ERROR")
                    }
                    #expect(try await client.request(host: fixture.host("hello")).status == .ok)
                }
            }
        }
    }

    @Test func aMalformedFrameGetsGoAwayWithProtocolErrorAndClose() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await HTTP2TestClient.with(port: fixture.port) { client in
                    let frames = try await ByteConnection.with(port: fixture.port) { connection in
                        var bytes = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                        bytes.writeBytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  // SETTINGS, empty
                        bytes.writeBytes([0, 0, 1, 0, 0, 0, 0, 0, 0, UInt8(ascii: "x")])  // DATA on stream 0
                        try await connection.send(bytes)
                        return Self.frames(in: await connection.readToEnd())
                    }
                    let goAways = frames.filter { $0.type == 7 }
                    #expect(goAways.count == 1)
                    #expect(goAways.first?.errorCode == 1, "DATA on stream 0 is a PROTOCOL_ERROR")
                    #expect(try await client.request(host: fixture.host("hello")).status == .ok)
                }
            }
        }
    }

    // MARK: h2c instances

    @Test func anHTTP1ClientReachesAnH2CInstanceWithItsTrailers() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await TestHTTPConnection.with(port: fixture.port) { connection in
                try await connection.send(.GET, "/h1", host: fixture.host("hello"))
                let (response, trailers) = try await Self.readResponseWithTrailers(&connection)
                #expect(response.status == .ok)
                #expect(response.body == "h2 GET /h1 body-bytes=0")
                #expect(response.head.headers["x-backend-protocol"] == ["h2"])
                #expect(trailers?["grpc-status"] == ["0"])
                #expect(trailers?["x-trailer"] == ["yes"])

                let body = ByteBuffer(repeating: 7, count: 100_000)
                try await connection.send(.POST, "/upload", host: fixture.host("hello"), body: body)
                let (posted, _) = try await Self.readResponseWithTrailers(&connection)
                #expect(posted.body == "h2 POST /upload body-bytes=100000")
            }
        }
    }

    @Test func anHTTP2ClientReachesAnH2CInstanceWithItsTrailers() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await HTTP2TestClient.with(port: fixture.port) { client in
                let response = try await client.request(
                    .POST, "/pkg.Echo/Say", host: fixture.host("hello"),
                    headers: [("content-type", "application/grpc"), ("te", "trailers")],
                    body: ByteBuffer(bytes: [0, 0, 0, 0, 2, 8, 1]))
                #expect(response.status == .ok)
                #expect(response.text == "h2 POST /pkg.Echo/Say body-bytes=7")
                #expect(response.head.headers["content-type"] == ["application/grpc"])
                #expect(response.trailers?["grpc-status"] == ["0"])
                #expect(response.trailers?["x-trailer"] == ["yes"])
            }
            #expect(backend.current.accepted == 1)
        }
    }

    @Test func sequentialRequestsShareOneConnectionToAnH2CInstance() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await TestHTTPConnection.with(port: fixture.port) { connection in
                for index in 0..<10 {
                    let response = try await connection.request(.GET, "/h1/\(index)", host: fixture.host("hello"))
                    #expect(response.body == "h2 GET /h1/\(index) body-bytes=0")
                }
            }
            try await HTTP2TestClient.with(port: fixture.port) { client in
                for index in 0..<10 {
                    let response = try await client.request(.GET, "/h2/\(index)", host: fixture.host("hello"))
                    #expect(response.text == "h2 GET /h2/\(index) body-bytes=0")
                }
            }
            try await pollUntil("every upstream stream closes") {
                let counts = backend.current
                return counts.streamsClosed == counts.streamsOpened
            }
            let counts = backend.current
            #expect(counts.accepted == 1, "one HTTP/2 connection per instance and loop")
            #expect(counts.streamsOpened == 20)
            #expect(counts.streamsAbandoned == 0)
        }
    }

    /// `/gather?n=K` answers only once K streams are open at the instance together: the
    /// requests must travel as concurrent streams of the one connection.
    @Test func concurrentRequestsAreConcurrentStreamsOfOneConnection() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            let host = fixture.host("hello")
            try await HTTP2TestClient.with(port: fixture.port) { client in
                try await withThrowingTaskGroup(of: HTTP2TestResponse.self) { group in
                    for _ in 0..<10 {
                        group.addTask { try await client.request(.GET, "/gather?n=10", host: host) }
                    }
                    for try await response in group {
                        #expect(response.status == .ok)
                        #expect(response.trailers?["grpc-status"] == ["0"])
                    }
                }
            }
            // HTTP/1.1 clients on separate connections share it too.
            try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await TestHTTPConnection.with(port: fixture.port) { connection in
                            try await connection.request(.GET, "/gather?n=5", host: host)
                        }
                    }
                }
                for try await response in group { #expect(response.status == .ok) }
            }
            try await pollUntil("the streams release their capacity") {
                table.inFlight(revision: Self.revision) == 0
            }
            #expect(backend.current.accepted == 1)
            #expect(backend.current.streamsOpened == 15)
        }
    }

    /// An instance announcing a graceful close (GOAWAY, as gRPC servers do at their maximum
    /// connection age) takes no new streams on that connection: later requests go on a new one.
    @Test func anH2CInstancesGoAwayMovesLaterRequestsToANewConnection() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await HTTP2TestClient.with(port: fixture.port) { client in
                #expect(try await client.request(host: fixture.host("hello")).status == .ok)
                backend.sendGoAway()
                for index in 0..<5 {
                    let response = try await client.request(.GET, "/after/\(index)", host: fixture.host("hello"))
                    #expect(response.status == .ok, "request \(index) after the GOAWAY")
                }
            }
            #expect(backend.current.accepted == 2)
        }
    }

    /// An h2c hop cannot carry an HTTP/1.1 upgrade: the handshake reaches the instance as a
    /// plain request, its answer reaches the client, and the connection then closes (NIO's
    /// parser reads nothing after an upgrade request), instead of hanging on the next request.
    @Test func anUpgradeToAnH2CInstanceIsAnsweredPlainlyThenTheConnectionCloses() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await ByteConnection.with(port: fixture.port) { connection in
                try await connection.send(
                    TunnelTests.upgradeRequest(host: fixture.host("hello"))
                        + "GET /next HTTP/1.1\r\nHost: \(fixture.host("hello"))\r\n\r\n")
                let head = try await connection.readHead()
                #expect(head.hasPrefix("HTTP/1.1 200"))
                let lines = TunnelTests.headerLines(head)
                #expect(lines.contains("connection: close"))
                #expect(!lines.contains { $0.hasPrefix("upgrade:") })
                _ = await connection.readToEnd()
            }
            #expect(backend.current.streamsOpened == 1)
        }
    }

    /// The GET right after the instance closed its connection may reach the gateway before
    /// the close does and go out on the dead connection; like a GET on a dead pooled HTTP/1.1
    /// connection, it must be sent again on a new one rather than answered 502.
    @Test func anH2CInstanceClosingItsConnectionIsReconnected() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await HTTP2TestClient.with(port: fixture.port) { client in
                #expect(try await client.request(host: fixture.host("hello")).status == .ok)
                backend.closeConnections()
                try await pollUntil("the instance's connection closes") {
                    backend.openConnections == 0
                }
                #expect(try await client.request(host: fixture.host("hello")).status == .ok)
            }
            #expect(backend.current.accepted == 2)
        }
    }

    // MARK: gRPC

    @Test func aGRPCDeadlineIsAnsweredWithDeadlineExceededAndTheInstancesStreamReset() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await HTTP2TestClient.with(port: fixture.port) { client in
                let response = try await client.request(
                    .POST, "/never", host: fixture.host("hello"),
                    headers: [("content-type", "application/grpc"), ("te", "trailers"), ("grpc-timeout", "200m")],
                    body: ByteBuffer(bytes: [0, 0, 0, 0, 0]))
                #expect(response.status == .ok, "a gRPC client reads the outcome from grpc-status")
                #expect(Self.grpcStatus(response) == "4", "DEADLINE_EXCEEDED")
            }
            try await pollUntil("the instance's stream is reset") { backend.current.streamsAbandoned == 1 }
            try await pollUntil("the call releases its capacity") {
                table.inFlight(revision: Self.revision) == 0
            }
        }
    }

    @Test func aGRPCCallToAnUnknownServiceGetsUnimplemented() async throws {
        try await withGateway { fixture in
            try await HTTP2TestClient.with(port: fixture.port) { client in
                let response = try await client.request(
                    .POST, "/pkg.Echo/Say", host: fixture.host("nosuch"),
                    headers: [("content-type", "application/grpc+proto"), ("te", "trailers")],
                    body: ByteBuffer(bytes: [0, 0, 0, 0, 0]))
                #expect(response.status == .ok)
                #expect(Self.grpcStatus(response) == "12")
                #expect(
                    response.body.readableBytes == 0, "no message, and no text/plain body a gRPC client would misread")
            }
        }
    }

    /// gRPC clients read grpc-status where the stream ends: from a HEADERS frame with
    /// END_STREAM, the trailers (or a trailers-only response's only HEADERS). A status in a
    /// head followed by an empty DATA frame ending the stream is "server closed the stream
    /// without sending trailers" to grpc-go.
    @Test func theGatewaysGRPCAnswerEndsTheStreamWithItsStatus() async throws {
        try await withGateway { fixture in
            try await HTTP2TestClient.with(port: fixture.port) { client in
                let response = try await client.request(
                    .POST, "/pkg.Echo/Say", host: fixture.host("nosuch"),
                    headers: [("content-type", "application/grpc"), ("te", "trailers")],
                    body: ByteBuffer(bytes: [0, 0, 0, 0, 0]))
                guard case .headers(let fields, endStream: true) = response.frames.last else {
                    Issue.record("the stream ended with \(String(describing: response.frames.last)), not HEADERS")
                    return
                }
                #expect(fields["grpc-status"] == ["12"])
            }
        }
    }

    /// An instance's status in its head (a trailers-only answer, as the gateway's HTTP/1-shaped
    /// upstream stream sees it) goes to the client as trailers, where gRPC clients read it.
    @Test func anInstancesStatusInItsHeadReachesTheClientAsTrailers() async throws {
        try await Self.withH2CInstance { backend, table, fixture in
            try await HTTP2TestClient.with(port: fixture.port) { client in
                let response = try await client.request(
                    .POST, "/status-in-head", host: fixture.host("hello"),
                    headers: [("content-type", "application/grpc"), ("te", "trailers")],
                    body: ByteBuffer(bytes: [0, 0, 0, 0, 0]))
                #expect(response.status == .ok)
                #expect(response.head.headers["content-type"] == ["application/grpc"])
                guard case .headers(let fields, endStream: true) = response.frames.last else {
                    Issue.record("the stream ended with \(String(describing: response.frames.last)), not HEADERS")
                    return
                }
                #expect(fields["grpc-status"] == ["5"])
                #expect(fields["grpc-message"] == ["not%20here"])
            }
        }
    }

    // MARK: Helpers

    /// grpc-status from the trailers, or from the head of a trailers-only response.
    static func grpcStatus(_ response: HTTP2TestResponse) -> String? {
        response.trailers?.first(name: "grpc-status") ?? response.head.headers.first(name: "grpc-status")
    }

    static func readResponseWithTrailers(
        _ connection: inout TestHTTPConnection
    ) async throws -> (TestResponse, HTTPHeaders?) {
        var head: HTTPResponseHead?
        var body = ""
        var count = 0
        while let part = try await connection.inbound.next() {
            switch part {
            case .head(let responseHead):
                head = responseHead
            case .body(let buffer):
                count += buffer.readableBytes
                body += String(buffer: buffer)
            case .end(let trailers):
                guard let head else { throw TestFailure("response end without head") }
                return (TestResponse(head: head, body: body, bodyBytes: count), trailers)
            }
        }
        throw TestFailure("connection closed before the response ended")
    }

    struct RawFrame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]

        /// A GOAWAY's error code.
        var errorCode: UInt32? {
            guard self.type == 7, self.payload.count >= 8 else { return nil }
            return self.payload[4..<8].reduce(0) { $0 << 8 | UInt32($1) }
        }
    }

    /// The HTTP/2 frames in what a server sent (it sends no preface of its own).
    static func frames(in buffer: ByteBuffer) -> [RawFrame] {
        let bytes = Array(buffer.readableBytesView)
        var frames: [RawFrame] = []
        var offset = 0
        while offset + 9 <= bytes.count {
            let length = Int(bytes[offset]) << 16 | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            guard offset + 9 + length <= bytes.count else { break }
            let stream = bytes[(offset + 5)..<(offset + 9)].reduce(0) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
            frames.append(
                RawFrame(
                    type: bytes[offset + 3], flags: bytes[offset + 4], stream: stream,
                    payload: Array(bytes[(offset + 9)..<(offset + 9 + length)])))
            offset += 9 + length
        }
        return frames
    }
}
