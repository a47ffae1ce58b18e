import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTP2
import Testing

@testable import SkiffGateway

/// The gateway's h2c hop on in-memory channels, with the instance's side a real NIO HTTP/2
/// server: the bytes of each direction are handed over by hand, so races between the
/// gateway and an instance play out in one exact order.
@Suite("h2c upstream ordering")
struct H2CUpstreamOrderingTests {
    /// One connection from the gateway to the instance: both ends, and what the instance's
    /// side of it saw go wrong.
    final class Link {
        let gateway: EmbeddedChannel
        let instance: EmbeddedChannel
        let errors: ConnectionErrors

        init(gateway: EmbeddedChannel, instance: EmbeddedChannel, errors: ConnectionErrors) {
            self.gateway = gateway
            self.instance = instance
            self.errors = errors
        }

        /// Hands what the gateway wrote to the instance; true if there was anything.
        @discardableResult
        func gatewayToInstance() throws -> Bool {
            try Self.move(from: self.gateway, to: self.instance)
        }

        /// Hands what the instance wrote to the gateway; true if there was anything.
        @discardableResult
        func instanceToGateway() throws -> Bool {
            try Self.move(from: self.instance, to: self.gateway)
        }

        /// Both ways until neither side has anything more to say.
        func settle() throws {
            while try self.instanceToGateway() || self.gatewayToInstance() {}
        }

        /// Everything written so far arrives in one read, as it may over TCP.
        private static func move(from source: EmbeddedChannel, to target: EmbeddedChannel) throws -> Bool {
            var bytes = ByteBuffer()
            while let data = try source.readOutbound(as: IOData.self) {
                guard case .byteBuffer(var buffer) = data else { continue }
                bytes.writeBuffer(&buffer)
            }
            guard bytes.readableBytes > 0 else { return false }
            try target.writeInbound(bytes)
            (target.eventLoop as? EmbeddedEventLoop)?.run()
            return true
        }
    }

    /// Connection errors an instance's HTTP/2 handler raised (NIO leaves closing to the user).
    final class ConnectionErrors: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame
        var seen: [any Error] = []

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A refused stream is a stream error, and the instance's to raise.
            if error is NIOHTTP2Errors.StreamError { return }
            self.seen.append(error)
        }
    }

    /// Answers every request `200` with the body `answer PATH`.
    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        private var uri = ""

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head(let head):
                self.uri = head.uri
            case .body:
                break
            case .end:
                let body = ByteBuffer(string: "answer \(self.uri)")
                let head = HTTPResponseHead(
                    version: .http2, status: .ok, headers: ["content-length": "\(body.readableBytes)"])
                context.write(self.wrapOutboundOut(.head(head)), promise: nil)
                context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    /// Connections the connector made, in order; touched on the embedded loop only.
    final class Links: @unchecked Sendable {
        var all: [Link] = []
    }

    /// A gateway loop whose `hello` routes to one h2c instance, each connection to which is
    /// a ``Link``; and an HTTP/1.1 client connection to the gateway.
    struct Harness {
        let loop: EmbeddedEventLoop
        let client: EmbeddedChannel
        let links: Links

        init() throws {
            let loop = EmbeddedEventLoop()
            let links = Links()
            let connector = UpstreamConnector(
                connect: { _, eventLoop in eventLoop.makeFailedFuture(ChannelError.connectPending) },
                connectHTTP2: { _, eventLoop in
                    do {
                        let gateway = EmbeddedChannel(loop: loop)
                        try UpstreamConnector.configureHTTP2(gateway.pipeline.syncOperations)
                        let instance = EmbeddedChannel(loop: loop)
                        let errors = ConnectionErrors()
                        _ = try instance.pipeline.syncOperations.configureHTTP2Pipeline(
                            mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                        ) { stream in
                            stream.eventLoop.makeCompletedFuture {
                                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                try stream.pipeline.syncOperations.addHandler(Answerer())
                            }
                        }
                        try instance.pipeline.syncOperations.addHandler(errors)
                        let address = try SocketAddress(ipAddress: "10.0.0.1", port: 8080)
                        try instance.connect(to: address).wait()
                        try gateway.connect(to: address).wait()
                        links.all.append(Link(gateway: gateway, instance: instance, errors: errors))
                        return eventLoop.makeSucceededFuture(gateway)
                    } catch {
                        return eventLoop.makeFailedFuture(error)
                    }
                }
            )
            let table = RoutingTable()
            table.setRevision(
                "hello-00001", settings: RevisionSettings(upstreamProtocol: .h2c),
                backends: [Backend(id: "a", host: "10.0.0.1", port: 8080)])
            table.setTraffic(service: "hello", routes: ["hello": [TrafficWeight(revision: "hello-00001", weight: 1)]])
            let pool = UpstreamPool(eventLoop: loop, maxIdlePerBackend: 4, connector: connector)
            let client = try EmbeddedChannel.proxyClient(loop: loop, table: table, pool: pool)
            self.loop = loop
            self.client = client
            self.links = links
        }

        func get(_ path: String) throws {
            try self.client.writeInbound(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: hello.localhost\r\n\r\n"))
            self.loop.run()
        }

        func clientReceived() throws -> String {
            try self.client.outboundText()
        }
    }

    /// An instance that announced its graceful close after its streams were all done holds
    /// the connection fully quiesced: NIO takes any frame on a closed stream as a connection
    /// error then, and reads no further. A request's stream that ended in both directions is
    /// closed, so the gateway must send nothing more on it; a RST_STREAM it sent on the way
    /// (here: reaching the instance after its GOAWAY) would take the next request's HEADERS
    /// down with it, and that request would wait for ever instead of being refused and sent
    /// again on a new connection.
    @Test func aCompletedStreamIsLeftClosedSoTheNextRequestIsRefusedAndRetriedAfterAGoAway() throws {
        let harness = try Harness()
        try harness.get("/one")
        let first = try #require(harness.links.all.first)
        // The instance's SETTINGS first, then the request (and the SETTINGS ACK), then the answer.
        try first.instanceToGateway()
        try first.gatewayToInstance()
        try first.instanceToGateway()
        let one = try harness.clientReceived()
        #expect(one.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(one.hasSuffix("answer /one"))

        // The instance goes away while whatever the gateway wrote since is still on its way.
        first.instance.writeAndFlush(
            HTTP2Frame(
                streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil)),
            promise: nil)
        // The next request leaves before the GOAWAY reaches the gateway.
        try harness.get("/two")
        #expect(harness.links.all.count == 1)
        try first.gatewayToInstance()
        #expect(first.errors.seen.isEmpty, "the instance saw \(first.errors.seen)")
        // The instance refused the stream; the gateway sends the request again on a new connection.
        try first.instanceToGateway()
        let second = try #require(harness.links.all.last)
        #expect(second !== first)
        try second.settle()
        let two = try harness.clientReceived()
        #expect(two.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(two.hasSuffix("answer /two"))
    }
}
