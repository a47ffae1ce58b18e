import NIOCore
import SkiffHTTP1
import Testing

/// Every event `parser` makes of `input` (arriving in `pieces` pieces), finishing at the end.
private func events(
    _ input: String, kind: HTTP1Parser.Kind = .request, methods: [HTTP1Method] = [],
    limits: HTTP1Parser.Limits = .init()
) throws(HTTP1ParseError) -> [HTTP1Event] {
    var parser = HTTP1Parser(kind: kind, limits: limits)
    for method in methods { parser.expectResponse(to: method) }
    var buffer = ByteBuffer(string: input)
    var events: [HTTP1Event] = []
    while let event = try parser.next(from: &buffer) { events.append(event) }
    while let event = try parser.finish() { events.append(event) }
    return events
}

private func head(_ event: HTTP1Event?) -> HTTP1Head? {
    if case .head(let head) = event { return head }
    return nil
}

private func body(_ events: [HTTP1Event]) -> String {
    events.reduce(into: "") { text, event in
        if case .body(let bytes) = event { text += String(buffer: bytes) }
    }
}

private func error(of input: String, kind: HTTP1Parser.Kind = .request, limits: HTTP1Parser.Limits = .init())
    -> HTTP1ParseError?
{
    do {
        _ = try events(input, kind: kind, methods: kind == .response ? [.get] : [], limits: limits)
        return nil
    } catch {
        return error
    }
}

@Suite struct HTTP1ParserTests {
    @Test func parsesARequestHeadWithFieldsInOrderAndTheirCase() throws {
        let events = try events(
            "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Mixed-Case:  v1 \r\nx-mixed-case: v2\r\n\r\n")
        #expect(events.count == 2)
        let request = try #require(head(events.first))
        #expect(request.method == .get)
        #expect(request.target == "/a?b=c")
        #expect(request.version == .http1_1)
        #expect(request.isResponse == false)
        #expect(request.keepAlive)
        #expect(request.isUpgrade == false)
        #expect(request.framing == .none)
        #expect(request.headers.map(\.name) == ["Host", "X-Mixed-Case", "x-mixed-case"])
        // Leading whitespace goes, trailing whitespace stays (as llhttp and NIO).
        #expect(request.headers.map(\.value) == ["example.com", "v1 ", "v2"])
        #expect(request.headers.first(name: "HOST") == "example.com")
        #expect(request.headers.values(name: "x-mixed-case") == ["v1 ", "v2"])
        guard case .end(nil) = events[1] else {
            Issue.record("expected the end, got \(events[1])")
            return
        }
    }

    @Test func readsAContentLengthBodyAcrossPiecesAsSlices() throws {
        var parser = HTTP1Parser(kind: .request)
        var buffer = ByteBuffer(string: "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello")
        #expect(head(try parser.next(from: &buffer))?.framing == .contentLength(10))
        guard case .body(let first) = try parser.next(from: &buffer) else {
            Issue.record("expected a body part")
            return
        }
        #expect(String(buffer: first) == "hello")
        #expect(try parser.next(from: &buffer) == nil)
        buffer.writeString("worldGET")
        guard case .body(let second) = try parser.next(from: &buffer) else {
            Issue.record("expected a body part")
            return
        }
        #expect(String(buffer: second) == "world")
        guard case .end(nil) = try parser.next(from: &buffer) else {
            Issue.record("expected the end")
            return
        }
        // The next request's bytes stay in the buffer until its head is whole.
        #expect(try parser.next(from: &buffer) == nil)
        #expect(String(buffer: buffer) == "GET")
    }

    @Test func readsChunkedBodiesIgnoringExtensionsAndReturnsTrailers() throws {
        let events = try events(
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                + "5;name=\"q \\\" v\";flag\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc\r\nX-More: d\r\n\r\n")
        #expect(head(events.first)?.framing == .chunked)
        #expect(body(events) == "hello0123456789")
        guard case .end(let trailers?) = events.last else {
            Issue.record("expected trailers")
            return
        }
        #expect(trailers.map(\.name) == ["X-Checksum", "X-More"])
        #expect(trailers.first(name: "x-checksum") == "abc")
    }

    @Test func givesTheSameEventsWhenBytesArriveOneAtATime() throws {
        let input =
            "\r\nPOST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nT: v\r\n\r\n"
            + "GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"
        let whole = SkiffRun.parse([Array(input.utf8)], kind: .request)
        let split = SkiffRun.parse(Array(input.utf8).map { [$0] }, kind: .request)
        #expect(whole.rejected == false)
        #expect(whole.messages.count == 2)
        #expect(split == whole)
    }

    @Test func skipsEmptyLinesBetweenPipelinedRequests() throws {
        let events = try events("\r\n\nGET /1 HTTP/1.1\r\n\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
        #expect(events.compactMap { head($0)?.target } == ["/1", "/2"])
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nConnection: keep-alive, CLOSE\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n", false),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        // llhttp 9.3 (so NIO) does not see `close` followed by HTAB.
        ("GET / HTTP/1.1\r\nConnection: close\t\r\n\r\n", true),
    ])
    func decidesKeepAliveFromVersionAndConnection(input: String, keepAlive: Bool) throws {
        #expect(head(try events(input).first)?.keepAlive == keepAlive)
    }

    @Test func stopsAfterAnUpgradeRequestAndLeavesTheRestInTheBuffer() throws {
        var parser = HTTP1Parser(kind: .request)
        var buffer = ByteBuffer(
            string: "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{05}hello")
        let request = try #require(head(try parser.next(from: &buffer)))
        #expect(request.isUpgrade)
        guard case .end = try parser.next(from: &buffer) else {
            Issue.record("expected the end")
            return
        }
        #expect(parser.isUpgraded)
        #expect(try parser.next(from: &buffer) == nil)
        #expect(buffer.readableBytes == 8)
    }

    @Test func treatsConnectAsAnUpgradeWithoutABody() throws {
        let events = try events("CONNECT example.com:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
        let request = try #require(head(events.first))
        #expect(request.target == "example.com:443")
        #expect(request.isUpgrade)
        #expect(request.framing == .none)
    }

    @Test(arguments: [HTTP1Method.head, .get])
    func readsNoBodyForAResponseToHead(method: HTTP1Method) throws {
        let events = try events(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + (method == .head ? "" : "hello"), kind: .response,
            methods: [method])
        let response = try #require(head(events.first))
        #expect(response.status == 200)
        #expect(response.reason == "OK")
        #expect(response.method == method)
        #expect(response.framing == (method == .head ? .none : .contentLength(5)))
        #expect(body(events) == (method == .head ? "" : "hello"))
    }

    @Test(arguments: [204, 304])
    func readsNoBodyFor204And304(status: Int) throws {
        let events = try events(
            "HTTP/1.1 \(status) X\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            kind: .response, methods: [.get, .get])
        #expect(events.compactMap { head($0)?.status } == [status, 200])
    }

    @Test func readsInformationalResponsesWithoutUsingUpTheRequest() throws {
        let events = try events(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n"
                + "Content-Length: 2\r\n\r\nhi",
            kind: .response, methods: [.post])
        #expect(events.compactMap { head($0)?.status } == [100, 103, 200])
        #expect(body(events) == "hi")
    }

    @Test func readsAResponseBodyUntilTheConnectionCloses() throws {
        let events = try events("HTTP/1.1 200 OK\r\n\r\nstreamed until close", kind: .response, methods: [.get])
        let response = try #require(head(events.first))
        #expect(response.framing == .untilClose)
        #expect(response.keepAlive == false)
        #expect(body(events) == "streamed until close")
        guard case .end(nil) = events.last else {
            Issue.record("expected the end")
            return
        }
    }

    @Test func stopsAfterA101Response() throws {
        var parser = HTTP1Parser(kind: .response)
        parser.expectResponse(to: .get)
        var buffer = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframes")
        #expect(head(try parser.next(from: &buffer))?.isUpgrade == true)
        _ = try parser.next(from: &buffer)
        #expect(parser.isUpgraded)
        #expect(String(buffer: buffer) == "frames")
    }

    @Test func refusesAResponseNobodyAskedFor() {
        var parser = HTTP1Parser(kind: .response)
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        #expect(throws: HTTP1ParseError.unexpectedResponse) { try parser.next(from: &buffer) }
    }

    @Test func refusesAConnectionThatEndsInsideAMessage() {
        #expect(error(of: "GET / HTTP/1.1\r\nHost") == .truncatedMessage)
        #expect(error(of: "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel") == .truncatedMessage)
        #expect(error(of: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n") == .truncatedMessage)
    }

    @Test func repeatsAnErrorOnEveryLaterCall() {
        var parser = HTTP1Parser(kind: .request)
        var buffer = ByteBuffer(string: "GET / HTTP/1.1\r\nX : y\r\n\r\n")
        #expect(throws: HTTP1ParseError.spaceBeforeColon) { try parser.next(from: &buffer) }
        buffer.writeString("GET / HTTP/1.1\r\n\r\n")
        #expect(throws: HTTP1ParseError.spaceBeforeColon) { try parser.next(from: &buffer) }
        #expect(throws: HTTP1ParseError.spaceBeforeColon) { try parser.finish() }
    }

    @Test func refusesAHeadOverTheLimitBeforeItEnds() {
        let limits = HTTP1Parser.Limits(maxHeadSize: 64, maxHeaderCount: 4)
        #expect(error(of: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 60), limits: limits) == .headTooLarge)
        #expect(
            error(of: "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 30) + "\r\n\r\n", limits: limits) == nil)
    }

    @Test func refusesMoreFieldsThanTheLimit() {
        let limits = HTTP1Parser.Limits(maxHeadSize: 1024, maxHeaderCount: 2)
        #expect(error(of: "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits) == nil)
        #expect(error(of: "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits) == .tooManyHeaders)
    }

    /// One input per error the parser reports (the smuggling corpus has many more).
    @Test(arguments: [
        ("FOO / HTTP/1.1\r\n\r\n", HTTP1Parser.Kind.request, HTTP1ParseError.invalidMethod),
        ("GET http:/x HTTP/1.1\r\n\r\n", .request, .invalidTarget),
        ("GET a@@b HTTP/1.1\r\n\r\n", .request, .invalidTarget),
        ("GET / HTTP/1.2\r\n\r\n", .request, .invalidVersion),
        ("HTTP/1.1 2000 OK\r\n\r\n", .response, .invalidStatus),
        ("HTTP/1.1 200 O\u{01}K\r\n\r\n", .response, .invalidReasonPhrase),
        ("GET / HTTP/1.1\r\nA/B: c\r\n\r\n", .request, .invalidHeaderName),
        ("GET / HTTP/1.1\r\nA : c\r\n\r\n", .request, .spaceBeforeColon),
        ("GET / HTTP/1.1\r\nA: \0\r\n\r\n", .request, .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", .request, .obsoleteLineFolding),
        ("GET / HTTP/1.1\nA: b\r\n\r\n", .request, .bareLF),
        ("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", .request, .bareCR),
        ("POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n", .request, .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", .request, .duplicateContentLength),
        (
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", .request,
            .contentLengthWithTransferEncoding
        ),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", .request, .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nG\r\n", .request, .invalidChunkSize),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a b\r\n", .request, .invalidChunkExtension),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", .request, .invalidChunkTerminator),
        ("GET / HTTP/1.1\r\nConnection: close\r\n\r\nX", .request, .dataAfterClose),
    ])
    func reportsWhatWasWrong(input: String, kind: HTTP1Parser.Kind, expected: HTTP1ParseError) {
        #expect(error(of: input, kind: kind) == expected)
    }

    @Test func acceptsTheTargetFormsLlhttpAccepts() throws {
        for target in ["/", "*", "/a/b?c=d&e#f", "http://example.com", "https://user@host:8080/p?q", "/%7E\"<>{}|"] {
            #expect(head(try events("OPTIONS \(target) HTTP/1.1\r\n\r\n").first)?.target == target)
        }
    }

    @Test func keepsTheBytesOfAnEditedHeadAndWritesItBack() throws {
        var request = try #require(
            head(try events("GET /p HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nX-Id: 7\r\n\r\n").first))
        request.headers.removeAll(name: "connection")
        request.headers.append(name: "X-Forwarded-For", value: "10.0.0.1")
        #expect(request.headers.contains(name: "Connection") == false)
        var buffer = ByteBuffer()
        buffer.writeHTTP1Head(request)
        #expect(String(buffer: buffer) == "GET /p HTTP/1.1\r\nHost: a\r\nX-Id: 7\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
    }
}

extension HTTP1Event: Equatable {
    /// Enough equality for tests: the kind of event and its bytes.
    static func == (lhs: HTTP1Event, rhs: HTTP1Event) -> Bool {
        switch (lhs, rhs) {
        case (.head(let a), .head(let b)): a.status == b.status && a.target == b.target
        case (.body(let a), .body(let b)): a == b
        case (.end(let a), .end(let b)): a?.count == b?.count
        default: false
        }
    }
}
