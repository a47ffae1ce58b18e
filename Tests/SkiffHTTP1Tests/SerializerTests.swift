import NIOCore
import SkiffHTTP1
import Testing

@Suite struct SerializerTests {
    @Test func writesARequestHeadInOneBuffer() {
        var buffer = ByteBuffer()
        let written = buffer.writeHTTP1RequestHead(
            method: .post, target: "/upload?x=1", headers: HTTP1Headers([("Host", "a"), ("Content-Length", "3")]))
        #expect(String(buffer: buffer) == "POST /upload?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n")
        #expect(written == buffer.readableBytes)
    }

    @Test func writesAResponseHeadWithOrWithoutAReason() {
        var buffer = ByteBuffer()
        buffer.writeHTTP1ResponseHead(status: 404, reason: "Not Found", version: .http1_0, headers: HTTP1Headers())
        buffer.writeHTTP1ResponseHead(status: 204, reason: "", headers: HTTP1Headers([("X", "y")]))
        #expect(String(buffer: buffer) == "HTTP/1.0 404 Not Found\r\n\r\nHTTP/1.1 204 \r\nX: y\r\n\r\n")
    }

    @Test(arguments: [(1, "1"), (10, "a"), (255, "ff"), (4096, "1000"), (Int(UInt32.max), "ffffffff")])
    func writesChunkSizesInHex(size: Int, hex: String) {
        var buffer = ByteBuffer()
        buffer.writeHTTP1ChunkHeader(size: size)
        #expect(String(buffer: buffer) == hex + "\r\n")
    }

    @Test func writesChunkedFramingThatTheParserReadsBack() throws {
        var wire = ByteBuffer()
        wire.writeHTTP1RequestHead(
            method: .put, target: "/f", headers: HTTP1Headers([("Transfer-Encoding", "chunked")]))
        wire.writeHTTP1Chunk(ByteBuffer(string: "hello "))
        wire.writeHTTP1Chunk(ByteBuffer())
        wire.writeHTTP1Chunk(ByteBuffer(string: String(repeating: "w", count: 300)))
        wire.writeHTTP1LastChunk(trailers: HTTP1Headers([("X-Sum", "1")]))
        let outcome = SkiffRun.parse([Array(wire.readableBytesView)], kind: .request)
        #expect(outcome.rejected == false)
        #expect(outcome.messages.first?.body == Array(("hello " + String(repeating: "w", count: 300)).utf8))
        #expect(outcome.messages.first?.trailers == [.init(name: "X-Sum", value: "1")])
        // And so does NIO.
        #expect(NIORun.parse([Array(wire.readableBytesView)], kind: .request) == outcome)
    }

    /// A forwarded head keeps each received line as it came (its spacing included), around
    /// the fields left out, with appended fields written in the usual form.
    @Test func writesReceivedLinesAsTheyCameAroundOmittedFields() throws {
        let fields = "A:1\r\nConnection:  keep-alive\r\nB: two words \r\nC:\r\nX-Drop: 1\r\nD: 4\r\n"
        var parser = HTTP1Parser(kind: .request)
        var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\n" + fields + "\r\n")
        guard case .head(let head) = try parser.next(from: &buffer) else {
            Issue.record("expected a head")
            return
        }
        var all = ByteBuffer()
        head.headers.write(into: &all)
        #expect(String(buffer: all) == fields)

        var headers = head.headers
        headers.append(name: "Added", value: ":v")
        var some = ByteBuffer()
        headers.write(into: &some) { $0.equalsCaseInsensitive("connection") || $0.equalsCaseInsensitive("x-drop") }
        #expect(String(buffer: some) == "A:1\r\nB: two words \r\nC:\r\nD: 4\r\nAdded: :v\r\n")

        headers.removeAll(name: "b")
        var removed = ByteBuffer()
        headers.write(into: &removed)
        #expect(
            String(buffer: removed) == "A:1\r\nConnection:  keep-alive\r\nC:\r\nX-Drop: 1\r\nD: 4\r\nAdded: :v\r\n")
    }

    @Test func roundTripsAParsedResponseHead() throws {
        let input = "HTTP/1.1 200 Fine\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"
        var parser = HTTP1Parser(kind: .response)
        parser.expectResponse(to: .get)
        var buffer = ByteBuffer(string: input)
        guard case .head(let head) = try parser.next(from: &buffer) else {
            Issue.record("expected a head")
            return
        }
        var written = ByteBuffer()
        written.writeHTTP1Head(head)
        #expect(String(buffer: written) == input)
    }
}
