import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

struct TestResponse {
    var head: HTTPResponseHead
    var body: String
    var bodyBytes: Int

    var status: HTTPResponseStatus { self.head.status }

    /// A header of the echoed request, from the default backend behaviour.
    func echoed(_ name: String) -> String? {
        let prefix = name.lowercased() + ": "
        return self.body.split(separator: "\n").first { $0.hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count))
        }
    }

    func echoedAll(_ name: String) -> [String] {
        let prefix = name.lowercased() + ": "
        return self.body.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count))
        }
    }

    func echoedField(_ name: String) -> String? {
        let prefix = name + "="
        return self.body.split(separator: "\n").first { $0.hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count))
        }
    }
}

/// One HTTP/1.1 client connection driven step by step.
struct TestHTTPConnection {
    var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>

    static func with<T>(
        port: Int,
        _ body: (inout TestHTTPConnection) async throws -> T
    ) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = TestHTTPConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    mutating func request(
        _ method: HTTPMethod = .GET,
        _ uri: String = "/",
        host: String?,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        try await self.send(method, uri, host: host, headers: headers, body: body)
        return try await self.readResponse()
    }

    func send(
        _ method: HTTPMethod = .GET,
        _ uri: String = "/",
        host: String?,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil
    ) async throws {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        if let host { head.headers.add(name: "host", value: host) }
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body, !head.headers.contains(name: "transfer-encoding") {
            head.headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        }
        try await self.outbound.write(.head(head))
        if let body { try await self.outbound.write(.body(.byteBuffer(body))) }
        try await self.outbound.write(.end(nil))
    }

    /// Reads one response; the body is kept as text unless `countOnly`.
    mutating func readResponse(countOnly: Bool = false, verifyPattern: Bool = false) async throws -> TestResponse {
        var head: HTTPResponseHead?
        var text = ""
        var count = 0
        var patternOK = true
        while let part = try await self.inbound.next() {
            switch part {
            case .head(let responseHead):
                head = responseHead
            case .body(let buffer):
                if verifyPattern, !Pattern.matches(buffer, offset: count) { patternOK = false }
                count += buffer.readableBytes
                if !countOnly { text += String(buffer: buffer) }
            case .end:
                guard let head else { throw TestFailure("response end without head") }
                if !patternOK { throw TestFailure("response body differs from the pattern") }
                return TestResponse(head: head, body: text, bodyBytes: count)
            }
        }
        throw TestFailure("connection closed before the response ended")
    }
}

/// Raw bytes over TCP, for exact wire formats (HTTP/1.0, Expect, missing Host).
struct RawConnection {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var received = ""

    static func with<T>(port: Int, _ body: (inout RawConnection) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = RawConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    func send(_ text: String) async throws {
        try await self.outbound.write(ByteBuffer(string: text))
    }

    /// Reads until `marker` has been received; returns everything received so far and keeps
    /// what follows the marker for the next call.
    mutating func read(through marker: String) async throws -> String {
        while true {
            if let range = self.received.range(of: marker) {
                let result = String(self.received[..<range.upperBound])
                self.received = String(self.received[range.upperBound...])
                return result
            }
            guard let buffer = try await self.inbound.next() else {
                throw TestFailure(
                    "connection closed before \(marker.debugDescription); got \(self.received.debugDescription)")
            }
            self.received += String(buffer: buffer)
        }
    }

    /// Reads until the peer closes.
    mutating func readToEnd() async throws -> String {
        while let buffer = try await self.inbound.next() {
            self.received += String(buffer: buffer)
        }
        defer { self.received = "" }
        return self.received
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
