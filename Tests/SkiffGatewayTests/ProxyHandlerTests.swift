import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import SkiffGateway

/// The proxy handler on in-memory channels: exact bytes, and backpressure in both directions.
@Suite("ProxyHandler")
struct ProxyHandlerTests {
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var count = 0
        func read(context: ChannelHandlerContext) {
            self.count += 1
            context.read()
        }
    }

    /// Upstream channels the fake connector made; test-only, touched on the embedded loop.
    final class Upstreams: @unchecked Sendable {
        var channels: [EmbeddedChannel] = []
        var readCounters: [ReadCounter] = []
    }

    static let a = Backend(id: "a", host: "10.0.0.1", port: 8080)

    struct Harness {
        let loop: EmbeddedEventLoop
        let client: EmbeddedChannel
        let clientReads: ReadCounter
        let upstreams: Upstreams
        let table: RoutingTable
        let pool: UpstreamPool

        /// `hello` routes to revision `hello-00001` with `settings` and `backends`, as the
        /// controller publishes it.
        init(settings: RevisionSettings = RevisionSettings(), backends: [Backend] = [ProxyHandlerTests.a]) throws {
            let loop = EmbeddedEventLoop()
            let upstreams = Upstreams()
            let connector = UpstreamConnector { slot, eventLoop in
                let channel = EmbeddedChannel(loop: loop)
                let counter = ReadCounter()
                do {
                    try channel.pipeline.syncOperations.addHandler(counter)
                    try UpstreamConnector.configure(channel.pipeline.syncOperations, for: slot)
                    try channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 8080)).wait()
                } catch {
                    return eventLoop.makeFailedFuture(error)
                }
                upstreams.channels.append(channel)
                upstreams.readCounters.append(counter)
                return eventLoop.makeSucceededFuture(channel)
            }
            let table = RoutingTable()
            table.setRevision("hello-00001", settings: settings, backends: backends)
            table.setTraffic(service: "hello", routes: ["hello": [TrafficWeight(revision: "hello-00001", weight: 1)]])
            let pool = UpstreamPool(eventLoop: loop, maxIdlePerBackend: 4, connector: connector)
            let clientReads = ReadCounter()
            let client = try EmbeddedChannel.proxyClient(loop: loop, table: table, pool: pool, first: [clientReads])
            self.loop = loop
            self.client = client
            self.clientReads = clientReads
            self.upstreams = upstreams
            self.table = table
            self.pool = pool
        }

        func sendFromClient(_ text: String) throws {
            try self.client.writeInbound(ByteBuffer(string: text))
        }

        func sendFromUpstream(_ text: String, index: Int = 0) throws {
            try self.upstreams.channels[index].writeInbound(ByteBuffer(string: text))
        }

        func upstreamReceived(index: Int = 0) throws -> String {
            try self.upstreams.channels[index].outboundText()
        }

        /// Requests waiting in `revision`'s activator queue.
        func queued(_ revision: String = "hello-00001") -> Int? {
            self.table.sample().first { $0.revision == revision }?.queued
        }

        func clientReceived() throws -> String {
            try self.client.outboundText()
        }
    }

    @Test func forwardsRequestBytesAndReturnsConnectionToPool() throws {
        let harness = try Harness()
        try harness.sendFromClient("GET /a HTTP/1.1\r\nHost: hello.localhost\r\nConnection: keep-alive\r\n\r\n")
        let sent = try harness.upstreamReceived()
        #expect(sent.hasPrefix("GET /a HTTP/1.1\r\n"))
        #expect(sent.contains("Host: hello.localhost\r\n"))
        #expect(sent.contains("x-forwarded-for: 192.0.2.1\r\n"))
        #expect(sent.contains("forwarded: for=192.0.2.1;host=hello.localhost;proto=http\r\n"))
        #expect(!sent.lowercased().contains("connection:"))
        #expect(harness.table.inFlight(backendID: "a") == 1)

        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let received = try harness.clientReceived()
        #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(received.hasSuffix("\r\n\r\nok"))
        #expect(harness.table.inFlight(backendID: "a") == 0)
        #expect(harness.pool.idleCount == 1)

        // The next request reuses the pooled connection.
        try harness.sendFromClient("GET /b HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        #expect(harness.upstreams.channels.count == 1)
        #expect(try harness.upstreamReceived().hasPrefix("GET /b HTTP/1.1\r\n"))
        #expect(harness.pool.idleCount == 0)
    }

    @Test func aSmallResponseLeavesInOneBufferAndAHeadNeverWaitsForALaterRead() throws {
        let harness = try Harness()
        try harness.sendFromClient("GET /a HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        _ = try harness.upstreamReceived()
        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let whole = try harness.client.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
        #expect(whole?.hasPrefix("HTTP/1.1 200 OK\r\n") == true)
        #expect(whole?.hasSuffix("\r\n\r\nok") == true)
        #expect(try harness.client.readOutbound(as: ByteBuffer.self) == nil)

        // The body comes in later reads: the head does not wait for it, nor part for part.
        try harness.sendFromClient("GET /b HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        _ = try harness.upstreamReceived()
        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        let head = try harness.clientReceived()
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.hasSuffix("\r\n\r\n"))
        try harness.sendFromUpstream("01234")
        #expect(try harness.clientReceived() == "01234")
        try harness.sendFromUpstream("56789")
        #expect(try harness.clientReceived() == "56789")
        #expect(harness.table.inFlight(backendID: "a") == 0)
    }

    @Test func holdsClientReadsWhileUpstreamIsNotWritable() throws {
        let harness = try Harness()
        try harness.sendFromClient("POST /up HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 10\r\n\r\nabc")
        let upstream = harness.upstreams.channels[0]
        #expect(try harness.upstreamReceived().hasSuffix("\r\n\r\nabc"))

        upstream.isWritable = false
        upstream.pipeline.fireChannelWritabilityChanged()
        let before = harness.clientReads.count
        harness.client.read()
        #expect(harness.clientReads.count == before, "read passed while the upstream was full")

        upstream.isWritable = true
        upstream.pipeline.fireChannelWritabilityChanged()
        #expect(harness.clientReads.count == before + 1, "held read was not resumed")

        try harness.sendFromClient("defghij")
        #expect(try harness.upstreamReceived() == "defghij")
    }

    @Test func holdsUpstreamReadsWhileClientIsNotWritable() throws {
        let harness = try Harness()
        try harness.sendFromClient("GET /down HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        _ = try harness.upstreamReceived()
        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc")
        #expect(try harness.clientReceived().hasSuffix("abc"))

        let upstream = harness.upstreams.channels[0]
        let upstreamReads = harness.upstreams.readCounters[0]
        harness.client.isWritable = false
        harness.client.pipeline.fireChannelWritabilityChanged()
        let before = upstreamReads.count
        upstream.read()
        #expect(upstreamReads.count == before, "read passed while the client was full")

        harness.client.isWritable = true
        harness.client.pipeline.fireChannelWritabilityChanged()
        #expect(upstreamReads.count == before + 1, "held read was not resumed")

        try harness.sendFromUpstream("def")
        #expect(try harness.clientReceived() == "def")
    }

    @Test func upstreamFailureBeforeResponseGives502() throws {
        let harness = try Harness()
        try harness.sendFromClient("GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        try harness.upstreams.channels[0].close().wait()
        let received = try harness.clientReceived()
        #expect(received.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        #expect(received.hasSuffix("backend unavailable\n"))
        #expect(harness.table.inFlight(backendID: "a") == 0)
        #expect(harness.client.isActive)
    }

    @Test func upstreamFailureAfterResponseStartClosesClient() throws {
        let harness = try Harness()
        try harness.sendFromClient("GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        try harness.upstreams.channels[0].close().wait()
        #expect(!harness.client.isActive)
        #expect(harness.table.inFlight(backendID: "a") == 0)
    }

    @Test func clientLeavingClosesUpstream() throws {
        let harness = try Harness()
        try harness.sendFromClient("GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        try harness.client.close().wait()
        #expect(!harness.upstreams.channels[0].isActive)
        #expect(harness.table.inFlight(backendID: "a") == 0)
        #expect(harness.pool.idleCount == 0)
    }

    // MARK: The activator queue, tick by tick

    static let queueing = RevisionSettings(queueDepth: 10, responseStartTimeout: .milliseconds(200))

    @Test func aRequestQueuedAtZeroIsForwardedWhenAnInstanceIsReady() throws {
        let harness = try Harness(settings: Self.queueing, backends: [])
        try harness.sendFromClient("GET /cold HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        #expect(harness.queued() == 1)
        #expect(harness.upstreams.channels.isEmpty)
        #expect(try harness.clientReceived().isEmpty)

        harness.table.setRevision("hello-00001", settings: Self.queueing, backends: [Self.a])
        #expect(harness.queued() == 0)
        harness.loop.run()  // the hand-off reaches the connection's loop
        #expect(try harness.upstreamReceived().hasPrefix("GET /cold HTTP/1.1\r\n"))
        #expect(harness.table.inFlight(backendID: "a") == 1)

        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(try harness.clientReceived().hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(harness.table.inFlight(backendID: "a") == 0)
    }

    @Test func aQueuedRequestGets504AtItsResponseStartDeadlineAndLeavesTheQueue() throws {
        let harness = try Harness(settings: Self.queueing, backends: [])
        try harness.sendFromClient("GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        harness.loop.advanceTime(by: .milliseconds(199))
        #expect(try harness.clientReceived().isEmpty)
        #expect(harness.queued() == 1)

        harness.loop.advanceTime(by: .milliseconds(1))
        let received = try harness.clientReceived()
        #expect(received.hasPrefix("HTTP/1.1 504 Gateway Timeout\r\n"))
        #expect(received.contains("response-start timeout (200ms)"))
        #expect(harness.queued() == 0)

        // An instance arriving later owes that request nothing.
        harness.table.setRevision("hello-00001", settings: Self.queueing, backends: [Self.a])
        harness.loop.run()
        #expect(harness.upstreams.channels.isEmpty)
        #expect(harness.table.inFlight(backendID: "a") == 0)
    }

    @Test func aQueuedRequestFollowsItsKeyWhenTrafficMovesToAnotherRevision() throws {
        let harness = try Harness(settings: Self.queueing, backends: [])
        try harness.sendFromClient("GET /moved HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        #expect(harness.queued() == 1)

        // A rollback: the key goes back to a revision that has an instance.
        harness.table.setRevision("hello-00000", settings: Self.queueing, backends: [Self.a])
        harness.table.setTraffic(
            service: "hello", routes: ["hello": [TrafficWeight(revision: "hello-00000", weight: 1)]])
        #expect(harness.queued() == 0)
        harness.loop.run()
        #expect(try harness.upstreamReceived().hasPrefix("GET /moved HTTP/1.1\r\n"))
        #expect(harness.table.inFlight(backendID: "a") == 1)
        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(try harness.clientReceived().hasPrefix("HTTP/1.1 200 OK\r\n"))
        let counts = harness.table.sample().first { $0.revision == "hello-00000" }
        #expect(counts?.responses == 1, "the revision that answered counts the answer")
    }

    @Test func aQueuedRequestWhoseServiceIsGoneGets503() throws {
        let harness = try Harness(settings: Self.queueing, backends: [])
        try harness.sendFromClient("GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        harness.table.setTraffic(service: "hello", routes: [:])
        harness.table.removeRevision("hello-00001")
        harness.loop.run()
        let received = try harness.clientReceived()
        #expect(received.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(received.contains("retry-after: 1\r\n"))
        #expect(received.hasSuffix("service is gone\n"))
    }

    @Test func aClientThatLeavesWhileQueuedLeavesNothingBehind() throws {
        let harness = try Harness(settings: Self.queueing, backends: [])
        try harness.sendFromClient("GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        #expect(harness.queued() == 1)
        try harness.client.close().wait()
        harness.loop.run()
        #expect(harness.queued() == 0)
        harness.table.setRevision("hello-00001", settings: Self.queueing, backends: [Self.a])
        harness.loop.run()
        #expect(harness.upstreams.channels.isEmpty)
        #expect(harness.table.inFlight(backendID: "a") == 0)
    }

    /// A request the client sends after one the gateway answered with `Connection: close`
    /// must not take capacity: no exchange would ever give it back.
    @Test func aRequestOnAClosingConnectionTakesNoCapacity() throws {
        let harness = try Harness()
        try harness.sendFromClient(
            "POST / HTTP/1.1\r\nHost: nope.localhost\r\nContent-Length: 3\r\n\r\nabc"
                + "GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        harness.loop.run()
        #expect(try harness.clientReceived().hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(harness.upstreams.channels.isEmpty)
        #expect(harness.table.inFlight(backendID: "a") == 0)
    }

    // MARK: Framing

    /// An instance's response without a length ends when it closes its connection: an HTTP/1.1
    /// client gets it chunked and keeps its connection; an HTTP/1.0 client reads to the close.
    @Test(arguments: [("1.1", true), ("1.0", false)])
    func aResponseEndingWithItsConnectionIsReframedForTheClient(version: String, chunked: Bool) throws {
        let harness = try Harness()
        try harness.sendFromClient(
            "GET / HTTP/\(version)\r\nHost: hello.localhost\r\nConnection: keep-alive\r\n\r\n")
        try harness.sendFromUpstream("HTTP/1.0 200 OK\r\nX-Kept: 1\r\n\r\nhel")
        try harness.sendFromUpstream("lo")
        try harness.upstreams.channels[0].close().wait()
        let received = try harness.clientReceived()
        #expect(received.hasPrefix("HTTP/\(version) 200 OK\r\n"))
        #expect(received.contains("X-Kept: 1\r\n"))
        if chunked {
            #expect(received.contains("transfer-encoding: chunked\r\n"))
            #expect(received.hasSuffix("\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"))
            #expect(harness.client.isActive)
        } else {
            #expect(received.contains("connection: close\r\n"))
            #expect(received.hasSuffix("\r\n\r\nhello"))
            #expect(!harness.client.isActive)
        }
        #expect(harness.table.inFlight(backendID: "a") == 0)
    }

    /// A chunked request body reaches the instance chunked again, trailers included, and a
    /// chunked response reaches the client chunked with its trailers.
    @Test func chunkedBodiesAndTrailersAreReframedBothWays() throws {
        let harness = try Harness()
        try harness.sendFromClient(
            "POST /up HTTP/1.1\r\nHost: hello.localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n")
        let sent = try harness.upstreamReceived()
        #expect(sent.contains("transfer-encoding: chunked\r\n"))
        #expect(sent.hasSuffix("\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n"))
        try harness.sendFromUpstream(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\nX-Done: 1\r\n\r\n")
        let received = try harness.clientReceived()
        #expect(received.hasSuffix("\r\n\r\n4\r\nwxyz\r\n0\r\nX-Done: 1\r\n\r\n"))
        #expect(harness.pool.idleCount == 1)
    }

    /// Requests a client pipelines wait, unparsed, for the exchange before them: each is
    /// forwarded only once the previous response is complete, in order.
    @Test func pipelinedRequestsAreForwardedOneAfterAnother() throws {
        let harness = try Harness()
        try harness.sendFromClient(
            "GET /1 HTTP/1.1\r\nHost: hello.localhost\r\n\r\nGET /2 HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        #expect(try harness.upstreamReceived().hasPrefix("GET /1 HTTP/1.1\r\n"))
        #expect(try harness.upstreamReceived() == "")
        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1")
        #expect(try harness.upstreamReceived().hasPrefix("GET /2 HTTP/1.1\r\n"))
        try harness.sendFromUpstream("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2")
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"
        #expect(try harness.clientReceived() == answer + "1" + answer + "2")
        #expect(harness.upstreams.channels.count == 1)
    }

    /// An informational response from the instance (103 Early Hints) is not the answer: the
    /// final response behind it is.
    @Test func anInformationalResponseFromTheInstanceIsSkipped() throws {
        let harness = try Harness()
        try harness.sendFromClient("GET / HTTP/1.1\r\nHost: hello.localhost\r\n\r\n")
        try harness.sendFromUpstream(
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        let received = try harness.clientReceived()
        #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(!received.contains("103"))
        #expect(harness.pool.idleCount == 1)
    }

    /// A malformed request (here a request smuggling attempt: two lengths) gets 400 and the
    /// connection closes; nothing reaches an instance.
    @Test func aMalformedRequestGets400AndNothingIsForwarded() throws {
        let harness = try Harness()
        try harness.sendFromClient(
            "POST / HTTP/1.1\r\nHost: hello.localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
        #expect(try harness.clientReceived().hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(!harness.client.isActive)
        #expect(harness.upstreams.channels.isEmpty)
    }
}
