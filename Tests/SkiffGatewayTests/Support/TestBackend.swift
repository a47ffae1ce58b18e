import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

@testable import SkiffGateway

/// A small HTTP/1.1 server standing in for a service instance. Behaviour by path:
///
/// - `/slow`: signals `arrivals`, waits for `release`, then answers like the default.
/// - `/work?ms=N`: takes N ms to answer; ``maxConcurrent`` records the most at once.
/// - `/upload`: counts the request body and answers `bytes=N`.
/// - `/echo-stream`: streams the request body back as it arrives.
/// - `/download?bytes=N`: streams N pattern bytes.
/// - `/hop`: answers with hop-by-hop headers that a proxy must strip.
/// - `/head-test`: `content-length: 100`, 100 bytes (none for HEAD).
/// - `/no-content`: 204.
/// - `/close-after`: answers keep-alive-looking, then closes the connection.
/// - `/reject`: answers 413 at once, without reading the body, and closes the connection.
/// - anything else: echoes method, URI and headers as text, plus `body-bytes=N`.
final class TestBackend: Sendable {
    let name: String
    let port: Int
    let arrivals = Gate()
    let release = Gate()
    private let acceptedCount: NIOLockedValueBox<Int>
    private let concurrency = NIOLockedValueBox((now: 0, max: 0))

    /// The most `/work` requests this backend ever served at the same time.
    var maxConcurrent: Int {
        self.concurrency.withLockedValue { $0.max }
    }

    var backend: Backend {
        Backend(id: self.name, host: "127.0.0.1", port: self.port)
    }

    var accepted: Int {
        self.acceptedCount.withLockedValue { $0 }
    }

    private init(name: String, port: Int, acceptedCount: NIOLockedValueBox<Int>) {
        self.name = name
        self.port = port
        self.acceptedCount = acceptedCount
    }

    static func with<T: Sendable>(
        name: String,
        _ body: (TestBackend) async throws -> T
    ) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        let port = server.channel.localAddress?.port ?? 0
        let backend = TestBackend(name: name, port: port, acceptedCount: NIOLockedValueBox(0))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { connections in
                        for try await connection in inbound {
                            backend.acceptedCount.withLockedValue { $0 += 1 }
                            connections.addTask {
                                try? await backend.serve(connection)
                            }
                        }
                    }
                }
            }
            do {
                let result = try await body(backend)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var parts = inbound.makeAsyncIterator()
            while let part = try await parts.next() {
                guard case .head(let head) = part else { continue }
                let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
                switch path {
                case "/slow":
                    self.arrivals.signal()
                    await self.release.wait()
                    let bodyBytes = try await Self.countBody(&parts)
                    try await self.echo(head, bodyBytes: bodyBytes, outbound)
                case "/upload":
                    let bodyBytes = try await Self.countBody(&parts)
                    try await Self.respond(.ok, body: "bytes=\(bodyBytes)", outbound)
                case "/echo-stream":
                    var headers = HTTPHeaders()
                    headers.add(name: "x-backend", value: self.name)
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                    loop: while let next = try await parts.next() {
                        switch next {
                        case .body(let buffer): try await outbound.write(.body(.byteBuffer(buffer)))
                        case .end: break loop
                        case .head: return
                        }
                    }
                    try await outbound.write(.end(nil))
                case "/download":
                    _ = try await Self.countBody(&parts)
                    let total = Int(head.uri.split(separator: "=").last ?? "0") ?? 0
                    var headers = HTTPHeaders()
                    headers.add(name: "x-backend", value: self.name)
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                    var offset = 0
                    while offset < total {
                        let count = min(64 * 1024, total - offset)
                        try await outbound.write(.body(.byteBuffer(Pattern.buffer(offset: offset, count: count))))
                        offset += count
                    }
                    try await outbound.write(.end(nil))
                case "/hop":
                    _ = try await Self.countBody(&parts)
                    var headers = HTTPHeaders()
                    headers.add(name: "connection", value: "x-hop")
                    headers.add(name: "x-hop", value: "1")
                    headers.add(name: "keep-alive", value: "timeout=5")
                    headers.add(name: "upgrade", value: "h2c")
                    headers.add(name: "proxy-connection", value: "keep-alive")
                    headers.add(name: "x-end-to-end", value: "kept")
                    try await Self.respond(.ok, headers: headers, body: "hop", outbound)
                case "/head-test":
                    _ = try await Self.countBody(&parts)
                    var headers = HTTPHeaders()
                    headers.add(name: "content-length", value: "100")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
                    if head.method != .HEAD {
                        try await outbound.write(
                            .body(.byteBuffer(ByteBuffer(repeating: UInt8(ascii: "x"), count: 100))))
                    }
                    try await outbound.write(.end(nil))
                case "/no-content":
                    _ = try await Self.countBody(&parts)
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .noContent)))
                    try await outbound.write(.end(nil))
                case "/work":
                    _ = try await Self.countBody(&parts)
                    let ms = Int(head.uri.split(separator: "=").last ?? "0") ?? 0
                    self.concurrency.withLockedValue { state in
                        state.now += 1
                        state.max = max(state.max, state.now)
                    }
                    try? await Task.sleep(for: .milliseconds(ms))
                    self.concurrency.withLockedValue { $0.now -= 1 }
                    try await Self.respond(.ok, body: "worked", outbound)
                case "/reject":
                    var headers = HTTPHeaders()
                    headers.add(name: "connection", value: "close")
                    try await Self.respond(.payloadTooLarge, headers: headers, body: "too large", outbound)
                    return
                case "/close-after":
                    _ = try await Self.countBody(&parts)
                    try await Self.respond(.ok, body: "closing", outbound)
                    return
                default:
                    let bodyBytes = try await Self.countBody(&parts)
                    try await self.echo(head, bodyBytes: bodyBytes, outbound)
                }
            }
        }
    }

    private func echo(
        _ head: HTTPRequestHead,
        bodyBytes: Int,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var text = "backend=\(self.name)\nmethod=\(head.method.rawValue)\nuri=\(head.uri)\nversion=\(head.version)\n"
        for (name, value) in head.headers {
            text += "\(name.lowercased()): \(value)\n"
        }
        text += "body-bytes=\(bodyBytes)\n"
        var headers = HTTPHeaders()
        headers.add(name: "x-backend", value: self.name)
        try await Self.respond(.ok, headers: headers, body: text, outbound)
    }

    private static func respond(
        _ status: HTTPResponseStatus,
        headers: HTTPHeaders = [:],
        body: String,
        _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = headers
        headers.replaceOrAdd(name: "content-length", value: String(body.utf8.count))
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
        try await outbound.write(.end(nil))
    }

    private static func countBody(
        _ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    ) async throws -> Int {
        var count = 0
        while let part = try await parts.next() {
            switch part {
            case .body(let buffer): count += buffer.readableBytes
            case .end: return count
            case .head: return count
            }
        }
        return count
    }
}

/// Deterministic bytes for large-body tests: byte `i` of a stream is a function of `i`.
enum Pattern {
    static func byte(at offset: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: (offset &* 31) ^ (offset >> 11))
    }

    static func buffer(offset: Int, count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            for index in 0..<count {
                pointer[index] = Self.byte(at: offset + index)
            }
            return count
        }
        return buffer
    }

    /// Checks `buffer` against the pattern starting at `offset`.
    static func matches(_ buffer: ByteBuffer, offset: Int) -> Bool {
        buffer.withUnsafeReadableBytes { pointer in
            for index in 0..<pointer.count where pointer[index] != Self.byte(at: offset + index) {
                return false
            }
            return true
        }
    }
}
