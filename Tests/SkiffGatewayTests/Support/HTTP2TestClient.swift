import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// One HTTP/2 frame a stream received, as much of it as the tests look at.
enum HTTP2TestFrame: Sendable {
    /// A HEADERS frame's fields, pseudo-headers (`:status`) included.
    case headers(HTTPHeaders, endStream: Bool)
    case data(bytes: Int, endStream: Bool)
    case reset(HTTP2ErrorCode)
    case other

    var endsStream: Bool {
        switch self {
        case .headers(_, let endStream), .data(_, let endStream): endStream
        case .reset, .other: false
        }
    }
}

/// A response read from one HTTP/2 stream, with the frames that carried it.
struct HTTP2TestResponse: Sendable {
    var head: HTTPResponseHead
    var body: ByteBuffer
    var trailers: HTTPHeaders?
    var frames: [HTTP2TestFrame]

    var status: HTTPResponseStatus { self.head.status }
    var text: String { String(buffer: self.body) }

    /// A field of the default ``TestBackend`` echo (`name=value` lines).
    func echoedField(_ name: String) -> String? {
        let prefix = name + "="
        return self.text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count))
        }
    }

    /// A header of the request the default ``TestBackend`` echoed.
    func echoed(_ name: String) -> String? {
        let prefix = name.lowercased() + ": "
        return self.text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count))
        }
    }
}

/// An HTTP/2 client with prior knowledge (h2c): one connection, one stream per request,
/// through NIO's HTTP/2 stack and its HTTP/1 codec, as a gRPC or curl client would be.
struct HTTP2TestClient: Sendable {
    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.StreamMultiplexer

    static func with<T>(port: Int, _ body: (HTTP2TestClient) async throws -> T) async throws -> T {
        let (channel, multiplexer) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { pushed in
                        pushed.close()
                    }
                    return (channel as any Channel, multiplexer)
                }
            }
        let client = HTTP2TestClient(channel: channel, multiplexer: multiplexer)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        try? await channel.close()
        return try result.get()
    }

    /// Sends one request on a new stream and reads its whole response. A body is sent as
    /// DATA frames of `chunk` bytes with no `content-length` unless `headers` has one.
    func request(
        _ method: HTTPMethod = .GET,
        _ uri: String = "/",
        host: String,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil,
        chunk: Int = 16 * 1024
    ) async throws -> HTTP2TestResponse {
        let stream = try await self.send(method, uri, host: host, headers: headers, body: body, chunk: chunk)
        return try await stream.response.get()
    }

    /// Sends one request on a new stream; its response arrives on the returned stream.
    func send(
        _ method: HTTPMethod = .GET,
        _ uri: String = "/",
        host: String,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil,
        chunk: Int = 16 * 1024
    ) async throws -> HTTP2TestStream {
        var head = HTTPRequestHead(version: .http2, method: method, uri: uri)
        head.headers.add(name: "host", value: host)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let response = self.channel.eventLoop.makePromise(of: HTTP2TestResponse.self)
        let stream = try await self.multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                let log = StreamLog()
                let pipeline = stream.pipeline.syncOperations
                try pipeline.addHandler(FrameRecorder(log: log))
                try pipeline.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                try pipeline.addHandler(ResponseCollector(log: log, promise: response))
            }
        }.get()
        stream.write(HTTPClientRequestPart.head(head), promise: nil)
        if var body {
            while body.readableBytes > 0, let slice = body.readSlice(length: min(chunk, body.readableBytes)) {
                stream.write(HTTPClientRequestPart.body(.byteBuffer(slice)), promise: nil)
            }
        }
        do {
            try await stream.writeAndFlush(HTTPClientRequestPart.end(nil))
        } catch let error as NIOHTTP2Errors.StreamClosed where error.errorCode == .noError {
            // The server answered before the whole body and asked for no more of it (RFC 9113
            // §8.1): the rest of the body is not sent, and the answer stands.
        }
        return HTTP2TestStream(channel: stream, response: response.futureResult)
    }
}

/// One request's stream: closing its channel resets the stream.
struct HTTP2TestStream: Sendable {
    let channel: any Channel
    let response: EventLoopFuture<HTTP2TestResponse>
}

/// What one stream's handlers saw; lives on the stream's event loop.
private final class StreamLog {
    var frames: [HTTP2TestFrame] = []
}

/// Notes each frame a stream receives before the HTTP/1 codec turns it into parts.
private final class FrameRecorder: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    private let log: StreamLog

    init(log: StreamLog) {
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .headers(let headers):
            let fields = HTTPHeaders(headers.headers.map { ($0.name, $0.value) })
            self.log.frames.append(.headers(fields, endStream: headers.endStream))
        case .data(let data):
            self.log.frames.append(.data(bytes: data.data.readableBytes, endStream: data.endStream))
        case .rstStream(let code):
            self.log.frames.append(.reset(code))
        default:
            self.log.frames.append(.other)
        }
        context.fireChannelRead(data)
    }
}

/// Gathers the response parts of one stream and completes `promise` at the end, or fails it
/// if the stream closes first.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let log: StreamLog
    private let promise: EventLoopPromise<HTTP2TestResponse>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var done = false

    init(log: StreamLog, promise: EventLoopPromise<HTTP2TestResponse>) {
        self.log = log
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            // Informational heads (100) precede the response's own.
            if head.status.code >= 200 { self.head = head }
        case .body(var buffer):
            self.body.writeBuffer(&buffer)
        case .end(let trailers):
            guard let head = self.head else {
                self.fail(TestFailure("stream ended without a response head"))
                return
            }
            self.done = true
            self.promise.succeed(
                HTTP2TestResponse(head: head, body: self.body, trailers: trailers, frames: self.log.frames))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(TestFailure("stream closed before its response ended; frames: \(self.log.frames)"))
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error) {
        guard !self.done else { return }
        self.done = true
        self.promise.fail(error)
    }
}
