import NIOCore
import NIOEmbedded
import Testing

@testable import SkiffGateway

/// How a client connection's first bytes choose HTTP/1 or HTTP/2 (h2c with prior knowledge).
@Suite("ProtocolDetector")
struct ProtocolDetectorTests {
    /// Bytes the handlers installed behind the detector received; touched on the embedded loop.
    final class Received: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var bytes = ByteBuffer()
        var reads = 0
        /// "quiesce" and "read", in the order they arrived.
        var events: [String] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = self.unwrapInboundIn(data)
            self.bytes.writeBuffer(&buffer)
            self.reads += 1
            self.events.append("read")
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is ChannelShouldQuiesceEvent { self.events.append("quiesce") }
        }
    }

    static let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    @Test(arguments: [
        "GET / HTTP/1.1\r\n", "POST /x HTTP/1.1\r\nHost: a\r\n\r\n", "G", "PUT", "PRI / HTTP/1.1\r\n",
        "PRI * HTTP/1.1\r\n", "pri * HTTP/2.0\r\n", "\r\nGET / HTTP/1.1\r\n", "OPTIONS * HTTP/1.1\r\n",
    ])
    func anythingThatLeavesThePrefaceIsHTTP1(start: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(string: start)) == .http1)
    }

    @Test(arguments: ["", "P", "PR", "PRI", "PRI ", "PRI * HTTP/2", "PRI * HTTP/2."])
    func aPrefixOfThePrefaceDecidesNothingYet(start: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(string: start)) == nil)
    }

    @Test(arguments: [
        "PRI * HTTP/2.0", "PRI * HTTP/2.0\r\n", preface, preface + "\0\0\u{12}\u{4}",
        // A malformed rest of the preface is HTTP/2's to refuse with a GOAWAY, not a 400.
        "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
    ])
    func theStartOfThePrefaceIsHTTP2(start: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(string: start)) == .http2)
    }

    @Test func installsTheFoundProtocolAndHandsItEveryByteInOneRead() throws {
        let channel = EmbeddedChannel()
        let received = Received()
        var found: [ProtocolDetector.ClientProtocol] = []
        let detector = ProtocolDetector { protocolFound, pipeline in
            found.append(protocolFound)
            try pipeline.addHandler(received)
        }
        try channel.pipeline.syncOperations.addHandler(detector)

        // The preface split at awkward places: nothing is decided or passed on until it is.
        for piece in ["P", "RI * HT", "TP/2."] {
            try channel.writeInbound(ByteBuffer(string: piece))
            #expect(found.isEmpty)
            #expect(received.reads == 0)
        }
        try channel.writeInbound(ByteBuffer(string: "0\r\n\r\nSM\r\n\r\n"))
        #expect(found == [.http2])
        #expect(received.reads == 1)
        #expect(String(buffer: received.bytes) == Self.preface)
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: ProtocolDetector.self) }

        // Later bytes go straight to the installed handlers.
        try channel.writeInbound(ByteBuffer(string: "more"))
        #expect(found == [.http2])
        #expect(String(buffer: received.bytes) == Self.preface + "more")
        _ = try channel.finish()
    }

    @Test func decidesHTTP1OnTheFirstByteThatDiffers() throws {
        let channel = EmbeddedChannel()
        let received = Received()
        var found: [ProtocolDetector.ClientProtocol] = []
        try channel.pipeline.syncOperations.addHandler(
            ProtocolDetector { protocolFound, pipeline in
                found.append(protocolFound)
                try pipeline.addHandler(received)
            })
        try channel.writeInbound(ByteBuffer(string: "PR"))
        #expect(found.isEmpty)
        try channel.writeInbound(ByteBuffer(string: "OPFIND / HTTP/1.1\r\n"))
        #expect(found == [.http1])
        #expect(String(buffer: received.bytes) == "PROPFIND / HTTP/1.1\r\n")
        _ = try channel.finish()
    }

    /// A gateway that shuts down while a new connection's first request is on its way
    /// answers that request (the proxy, told first, announces `Connection: close`) instead of
    /// serving the connection with keep-alive until the grace period cuts it.
    @Test func shutdownBeforeTheFirstBytesReachesTheInstalledHandlersFirst() throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let received = Received()
        try channel.pipeline.syncOperations.addHandler(
            ProtocolDetector { _, pipeline in try pipeline.addHandler(received) })
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        #expect(received.events == ["quiesce", "read"])
        // The linger of the undecided connection ended with the detector: it stays open.
        channel.embeddedEventLoop.advanceTime(by: ProxyHandler.shutdownLinger * 2)
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func aConnectionThatSendsNothingClosesAfterTheShutdownLinger() throws {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.pipeline.syncOperations.addHandler(ProtocolDetector { _, _ in })
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try channel.writeInbound(ByteBuffer(string: "PRI"))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: ProxyHandler.shutdownLinger)
        #expect(!channel.isActive)
    }

    @Test func aFailingConfigurationClosesTheConnection() throws {
        struct Refused: Error {}
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ProtocolDetector { _, _ in throw Refused() })
        #expect(throws: Refused.self) { try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n")) }
        #expect(!channel.isActive)
    }
}
