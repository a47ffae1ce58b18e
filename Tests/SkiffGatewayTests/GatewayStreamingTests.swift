import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import SkiffGateway

@Suite("Gateway streaming and lifecycle")
struct GatewayStreamingTests {
    static let largeBody = 64 * 1024 * 1024

    @Test func streamsLargeUpload() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    var head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/upload")
                    head.headers.add(name: "host", value: fixture.host("hello"))
                    head.headers.add(name: "content-length", value: String(Self.largeBody))
                    try await connection.outbound.write(.head(head))
                    try await Self.writePattern(Self.largeBody, to: connection.outbound)
                    try await connection.outbound.write(.end(nil))
                    let response = try await connection.readResponse()
                    #expect(response.body == "bytes=\(Self.largeBody)")
                }
            }
        }
    }

    @Test func streamsLargeDownload() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    try await connection.send(.GET, "/download?bytes=\(Self.largeBody)", host: fixture.host("hello"))
                    let response = try await connection.readResponse(countOnly: true, verifyPattern: true)
                    #expect(response.status == .ok)
                    #expect(response.bodyBytes == Self.largeBody)
                    // Still in sync for the next request.
                    do {
                        let response = try await connection.request(host: fixture.host("hello"))
                        #expect(response.status == .ok)
                    }
                }
            }
        }
    }

    /// Body streamed up and echoed back at the same time: neither side can be buffered whole,
    /// since the client only reads while it writes.
    @Test func streamsChunkedBodyBothWaysConcurrently() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/echo-stream")
                    head.headers.add(name: "host", value: fixture.host("hello"))
                    head.headers.add(name: "transfer-encoding", value: "chunked")
                    try await connection.outbound.write(.head(head))
                    let outbound = connection.outbound
                    var reader = connection
                    let response = try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            try await Self.writePattern(Self.largeBody, to: outbound)
                            try await outbound.write(.end(nil))
                        }
                        let response = try await reader.readResponse(countOnly: true, verifyPattern: true)
                        try await group.waitForAll()
                        return response
                    }
                    #expect(response.bodyBytes == Self.largeBody)
                }
            }
        }
    }

    @Test func gracefulShutdownLetsRunningRequestFinish() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let gateway = Gateway(
                configuration: GatewayConfiguration(host: "127.0.0.1", port: 0),
                routingTable: table,
                eventLoopGroup: group,
                logger: quietLogger
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await gateway.run() }
                let port = try await gateway.waitUntilListening().port ?? 0
                // An idle keep-alive connection, closed by the shutdown.
                try await TestHTTPConnection.with(port: port) { idle in
                    do {
                        let response = try await idle.request(host: "hello.localhost")
                        #expect(response.status == .ok)
                    }
                    try await TestHTTPConnection.with(port: port) { busy in
                        try await busy.send(.GET, "/slow", host: "hello.localhost")
                        await backend.arrivals.wait()
                        tasks.cancelAll()
                        try await Self.waitUntilRefused(port: port)
                        backend.release.signal()
                        let slow = try await busy.readResponse()
                        #expect(slow.status == .ok)
                        #expect(slow.head.headers["connection"] == ["close"])
                    }
                    #expect(try await idle.inbound.next() == nil)
                }
                try await tasks.waitForAll()
            }
            #expect(gateway.connectionCount == 0)
            try await group.shutdownGracefully()
        }
    }

    private static func waitUntilRefused(port: Int) async throws {
        for _ in 0..<10_000 {
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                try await channel.close()
                await Task.yield()
            } catch {
                return
            }
        }
        throw TestFailure("the gateway kept accepting connections")
    }

    private static func writePattern(_ total: Int, to outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>)
        async throws
    {
        var offset = 0
        while offset < total {
            let count = min(256 * 1024, total - offset)
            try await outbound.write(.body(.byteBuffer(Pattern.buffer(offset: offset, count: count))))
            offset += count
        }
    }
}
