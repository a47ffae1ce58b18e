import NIOCore
import NIOPosix

/// A TCP client that reads and writes bytes, for what follows an HTTP head on the same
/// connection (a tunnel after `101`) and for exact wire checks.
struct ByteConnection {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    /// Bytes read but not yet returned.
    var pending = ByteBuffer()

    static func with<T>(port: Int, _ body: (inout ByteConnection) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var connection = ByteConnection(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&connection)
        }
    }

    func send(_ text: String) async throws {
        try await self.outbound.write(ByteBuffer(string: text))
    }

    func send(_ bytes: ByteBuffer) async throws {
        try await self.outbound.write(bytes)
    }

    /// Reads through the first `CRLF CRLF` and returns the head as text; what follows stays
    /// pending.
    mutating func readHead() async throws -> String {
        while true {
            let view = self.pending.readableBytesView
            if let end = Self.headEnd(in: view) {
                return self.pending.readString(length: end) ?? ""
            }
            try await self.fill(waitingFor: "a response head")
        }
    }

    /// Reads exactly `count` bytes.
    mutating func read(count: Int) async throws -> ByteBuffer {
        while self.pending.readableBytes < count {
            try await self.fill(waitingFor: "\(count) bytes")
        }
        return self.pending.readSlice(length: count) ?? ByteBuffer()
    }

    /// Reads until the peer closes (or resets) the connection; returns what came before.
    mutating func readToEnd() async -> ByteBuffer {
        do {
            while var buffer = try await self.inbound.next() {
                self.pending.writeBuffer(&buffer)
            }
        } catch {
            // A reset ends the connection as surely as a FIN does.
        }
        defer { self.pending.clear() }
        return self.pending
    }

    private mutating func fill(waitingFor what: String) async throws {
        guard var buffer = try await self.inbound.next() else {
            throw TestFailure(
                "connection closed while waiting for \(what); got \(String(buffer: self.pending).debugDescription)")
        }
        self.pending.writeBuffer(&buffer)
    }

    private static func headEnd(in view: ByteBufferView) -> Int? {
        let bytes = Array(view)
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }
}

/// Polls `condition` every 10 ms until it holds, or fails after `limit`: for state that
/// another thread settles (in-flight counts, closed connections), never as a delay.
func pollUntil(
    _ what: String, within limit: Duration = .seconds(10), _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("\(what): not within \(limit)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
