import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SkiffHTTP1
import Testing

/// Time per typical request (and response) head: SkiffHTTP1's parser against NIO's decoder in a channel, as the
/// gateway runs it. Off unless `SKIFF_HTTP1_BENCH=<iterations>` is set; numbers from a debug build say little, so run
/// it with `swift test -c release`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SKIFF_HTTP1_BENCH"] != nil))
struct ParserBenchmarkTests {
    static let iterations = ProcessInfo.processInfo.environment["SKIFF_HTTP1_BENCH"].flatMap { Int($0) } ?? 200_000

    /// A browser-like GET of about 500 bytes with 10 fields.
    static let request = ByteBuffer(
        string: "GET /api/v1/items?page=2&sort=desc HTTP/1.1\r\n"
            + "Host: hello.default.example.com\r\n"
            + "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
            + "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
            + "Accept-Language: en-US,en;q=0.5\r\n"
            + "Accept-Encoding: gzip, deflate, br\r\n"
            + "Connection: keep-alive\r\n"
            + "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
            + "Upgrade-Insecure-Requests: 1\r\n"
            + "Cache-Control: max-age=0\r\n"
            + "X-Request-Id: 5f0c6b8e-2b1a-4c57-9f0e-1d2c3b4a5f6e\r\n\r\n")

    static let response = ByteBuffer(
        string: "HTTP/1.1 200 OK\r\nServer: nginx/1.26.0\r\nDate: Thu, 03 Dec 2026 15:00:00 GMT\r\n"
            + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}")

    private func report(_ name: String, _ duration: Duration) {
        let nanoseconds = Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
        print(
            String(
                format: "%@: %.0f ns per message (%d messages)", name, nanoseconds / Double(Self.iterations),
                Self.iterations))
    }

    @Test func requestHeads() throws {
        var parser = HTTP1Parser(kind: .request)
        var heads = 0
        let ours = try ContinuousClock().measure {
            for _ in 0..<Self.iterations {
                var buffer = Self.request
                while let event = try parser.next(from: &buffer) {
                    if case .head(let head) = event, head.headers.count == 10 { heads += 1 }
                }
            }
        }
        #expect(heads == Self.iterations)
        self.report("SkiffHTTP1 request head", ours)

        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        let nio = try ContinuousClock().measure {
            for _ in 0..<Self.iterations {
                try channel.writeInbound(Self.request)
                while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                    if case .head(let head) = part, head.headers.count == 10 { heads += 1 }
                }
            }
        }
        #expect(heads == 2 * Self.iterations)
        self.report("NIO HTTPRequestDecoder request head", nio)
        _ = try channel.finish()
    }

    @Test func responseHeads() throws {
        var parser = HTTP1Parser(kind: .response)
        var bodies = 0
        let ours = try ContinuousClock().measure {
            for _ in 0..<Self.iterations {
                parser.expectResponse(to: .get)
                var buffer = Self.response
                while let event = try parser.next(from: &buffer) {
                    if case .body = event { bodies += 1 }
                }
            }
        }
        #expect(bodies == Self.iterations)
        self.report("SkiffHTTP1 response with a 2-byte body", ours)

        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPResponseDecoder()))
        let nio = try ContinuousClock().measure {
            for _ in 0..<Self.iterations {
                try channel.writeOutbound(
                    HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
                _ = try channel.readOutbound(as: HTTPClientRequestPart.self)
                try channel.writeInbound(Self.response)
                while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                    if case .body = part { bodies += 1 }
                }
            }
        }
        #expect(bodies == 2 * Self.iterations)
        self.report("NIO HTTPResponseDecoder response with a 2-byte body", nio)
        _ = try channel.finish()
    }
}
