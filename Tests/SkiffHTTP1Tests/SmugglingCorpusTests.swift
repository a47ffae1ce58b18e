import SkiffHTTP1
import Testing

/// Request-smuggling and desync inputs. Every one is refused by SkiffHTTP1; each entry also records what NIO's
/// decoder (llhttp 9.3) does with it, and the test checks that too, so the corpus documents both.
@Suite struct SmugglingCorpusTests {
    struct Entry: CustomTestStringConvertible, Sendable {
        var name: String
        var input: String
        var kind: HTTP1Parser.Kind = .request
        var error: HTTP1ParseError
        /// Whether NIO refuses it too. `false` marks an exception listed in `DifferentialTests.Exception` (or one of
        /// the other protocol names, which the generator never writes).
        var nioRefuses = true

        var testDescription: String { self.name }
    }

    static let head = "POST / HTTP/1.1\r\nHost: a\r\n"

    static let corpus: [Entry] = [
        // Content-Length with Transfer-Encoding, in both orders.
        .init(
            name: "CL then TE", input: head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            error: .contentLengthWithTransferEncoding),
        .init(
            name: "TE then CL", input: head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
            error: .contentLengthWithTransferEncoding),
        .init(
            name: "CL with TE identity", input: head + "Content-Length: 5\r\nTransfer-Encoding: identity\r\n\r\nhello",
            error: .contentLengthWithTransferEncoding),
        // Two Content-Lengths, equal or not, and list values.
        .init(
            name: "two different CLs", input: head + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            error: .duplicateContentLength),
        .init(
            name: "two equal CLs", input: head + "Content-Length: 5\r\ncontent-length: 5\r\n\r\nhello",
            error: .duplicateContentLength),
        .init(name: "CL list", input: head + "Content-Length: 5, 5\r\n\r\nhello", error: .invalidContentLength),
        .init(name: "CL with plus", input: head + "Content-Length: +5\r\n\r\nhello", error: .invalidContentLength),
        .init(name: "CL negative", input: head + "Content-Length: -1\r\n\r\n", error: .invalidContentLength),
        .init(name: "CL hex", input: head + "Content-Length: 0x5\r\n\r\nhello", error: .invalidContentLength),
        .init(
            name: "CL with HTAB after", input: head + "Content-Length: 5\t\r\n\r\nhello", error: .invalidContentLength),
        .init(name: "CL empty", input: head + "Content-Length: \r\n\r\n", error: .invalidContentLength),
        .init(
            name: "CL overflow", input: head + "Content-Length: 18446744073709551616\r\n\r\n",
            error: .invalidContentLength),
        // Transfer-Encoding that is not (only, or last) chunked.
        .init(
            name: "TE identity", input: head + "Transfer-Encoding: identity\r\n\r\n", error: .invalidTransferEncoding),
        .init(
            name: "TE xchunked", input: head + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
            error: .invalidTransferEncoding),
        .init(
            name: "TE chunked then gzip", input: head + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
            error: .invalidTransferEncoding),
        .init(
            name: "TE chunked twice",
            input: head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            error: .invalidTransferEncoding),
        .init(
            name: "TE chunked then another TE field",
            input: head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
            error: .invalidTransferEncoding),
        .init(
            name: "TE chunked with HTAB after", input: head + "Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n",
            error: .invalidTransferEncoding),
        .init(
            name: "TE quoted chunked", input: head + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n",
            error: .invalidTransferEncoding),
        .init(
            name: "TE empty (llhttp ignores it)", input: head + "Transfer-Encoding: \r\nContent-Length: 5\r\n\r\nhello",
            error: .invalidTransferEncoding, nioRefuses: false),
        // Bad chunk sizes and chunk framing.
        .init(
            name: "chunk size not hex", input: head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            error: .invalidChunkSize),
        .init(
            name: "chunk size negative", input: head + "Transfer-Encoding: chunked\r\n\r\n-1\r\n",
            error: .invalidChunkSize),
        .init(
            name: "chunk size 0x prefix", input: head + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkSize),
        .init(
            name: "chunk size leading space",
            input: head + "Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkSize),
        .init(
            name: "chunk size trailing space",
            input: head + "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkSize),
        .init(
            name: "chunk size trailing junk",
            input: head + "Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkSize),
        .init(
            name: "chunk size overflow",
            input: head + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkSize),
        .init(
            name: "chunk size LF only", input: head + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
            error: .bareLF),
        .init(
            name: "chunk size CR only", input: head + "Transfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n",
            error: .bareCR),
        .init(
            name: "chunk data longer than size",
            input: head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello!\r\n0\r\n\r\n",
            error: .invalidChunkTerminator),
        .init(
            name: "chunk data without CRLF", input: head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n",
            error: .invalidChunkTerminator),
        .init(
            name: "chunk data LF only", input: head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
            error: .bareLF),
        .init(
            name: "chunk extension with space",
            input: head + "Transfer-Encoding: chunked\r\n\r\n5; a=b\r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkExtension),
        .init(
            name: "chunk extension empty", input: head + "Transfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkExtension),
        .init(
            name: "chunk extension with NUL",
            input: head + "Transfer-Encoding: chunked\r\n\r\n5;a=\"\0\"\r\nhello\r\n0\r\n\r\n",
            error: .invalidChunkExtension),
        .init(
            name: "trailer Content-Length",
            input: head + "Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\nhello",
            error: .contentLengthWithTransferEncoding),
        .init(
            name: "trailer Transfer-Encoding",
            input: head + "Transfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
            error: .invalidTransferEncoding),
        // Obsolete line folding and whitespace at the start of lines.
        .init(name: "obs-fold", input: head + "X-Foo: a\r\n b\r\n\r\n", error: .obsoleteLineFolding),
        .init(name: "obs-fold with HTAB", input: head + "X-Foo: a\r\n\tb\r\n\r\n", error: .obsoleteLineFolding),
        .init(
            name: "obs-fold of Transfer-Encoding", input: head + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
            error: .obsoleteLineFolding),
        .init(
            name: "space before first field", input: "POST / HTTP/1.1\r\n Host: a\r\nContent-Length: 0\r\n\r\n",
            error: .obsoleteLineFolding),
        // Bare CR and bare LF as line endings.
        .init(name: "bare CR after request line", input: "GET / HTTP/1.1\rHost: a\r\n\r\n", error: .bareCR),
        .init(name: "bare CR in value", input: head + "X-Foo: a\rb\r\n\r\n", error: .bareCR),
        .init(name: "bare CR ending a field", input: head + "X-Foo: a\r\r\n\r\n", error: .bareCR),
        .init(name: "bare CR ending the head", input: head + "\r\r\n", error: .bareCR),
        .init(name: "bare LF after request line", input: "GET / HTTP/1.1\nHost: a\n\n", error: .bareLF),
        .init(name: "bare LF ending a field", input: head + "X-Foo: a\n\r\n", error: .bareLF),
        .init(name: "bare LF ending the head", input: head + "\n", error: .bareLF),
        .init(name: "LF in value", input: head + "X-Foo: a\nContent-Length: 5\r\n\r\nhello", error: .bareLF),
        // NUL and other control bytes.
        .init(name: "NUL in value", input: head + "X-Foo: a\0b\r\n\r\n", error: .invalidHeaderValue),
        .init(name: "NUL in name", input: head + "X-F\0oo: a\r\n\r\n", error: .invalidHeaderName),
        .init(name: "NUL in target", input: "GET /a\0b HTTP/1.1\r\n\r\n", error: .invalidTarget),
        .init(name: "SOH in value", input: head + "X-Foo: a\u{01}b\r\n\r\n", error: .invalidHeaderValue),
        .init(name: "VT in value", input: head + "X-Foo: a\u{0B}b\r\n\r\n", error: .invalidHeaderValue),
        .init(name: "DEL in value", input: head + "X-Foo: a\u{7F}b\r\n\r\n", error: .invalidHeaderValue),
        // Whitespace between the name and the colon.
        .init(name: "space before colon", input: head + "X-Foo : a\r\n\r\n", error: .spaceBeforeColon),
        .init(
            name: "space before colon of Content-Length", input: head + "Content-Length : 5\r\n\r\nhello",
            error: .spaceBeforeColon),
        .init(
            name: "space before colon of Transfer-Encoding",
            input: head + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", error: .spaceBeforeColon),
        .init(name: "HTAB before colon", input: head + "Host\t: b\r\n\r\n", error: .spaceBeforeColon),
        // Names, methods, targets and versions.
        .init(name: "empty name", input: head + ": a\r\n\r\n", error: .invalidHeaderName),
        .init(name: "separator in name", input: head + "X(Foo): a\r\n\r\n", error: .invalidHeaderName),
        .init(name: "non-ASCII name", input: head + "X-F\u{E9}o: a\r\n\r\n", error: .invalidHeaderName),
        .init(name: "lowercase method", input: "get / HTTP/1.1\r\n\r\n", error: .invalidMethod),
        .init(name: "unknown method", input: "FOO / HTTP/1.1\r\n\r\n", error: .invalidMethod),
        .init(name: "HTAB after method", input: "GET\t/ HTTP/1.1\r\n\r\n", error: .invalidMethod),
        .init(name: "HTTP/2 preface", input: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", error: .invalidMethod),
        .init(name: "space in target", input: "GET /a b HTTP/1.1\r\n\r\n", error: .invalidVersion),
        .init(name: "non-ASCII target", input: "GET /\u{E9} HTTP/1.1\r\n\r\n", error: .invalidTarget),
        .init(name: "HTTP/0.9", input: "GET /\r\n\r\n", error: .invalidVersion),
        .init(name: "HTTP/1.2", input: "GET / HTTP/1.2\r\n\r\n", error: .invalidVersion),
        .init(name: "HTTP/2.0", input: "GET / HTTP/2.0\r\n\r\n", error: .invalidVersion),
        .init(name: "lowercase http", input: "GET / http/1.1\r\n\r\n", error: .invalidVersion),
        .init(name: "space after version", input: "GET / HTTP/1.1 \r\n\r\n", error: .invalidVersion),
        .init(
            name: "RTSP version (llhttp takes it)", input: "GET / RTSP/1.0\r\n\r\n", error: .invalidVersion,
            nioRefuses: false),
        // Heads over the limit.
        .init(
            name: "oversized head", input: head + "X-Big: " + String(repeating: "a", count: 81 * 1024) + "\r\n\r\n",
            error: .headTooLarge),
        .init(
            name: "oversized head, not ended", input: head + "X-Big: " + String(repeating: "a", count: 81 * 1024),
            error: .headTooLarge),
        // A second request after one that closes the connection.
        .init(
            name: "request after Connection: close",
            input: "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /admin HTTP/1.1\r\n\r\n", error: .dataAfterClose),
        .init(
            name: "request after HTTP/1.0 without keep-alive",
            input: "GET / HTTP/1.0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n", error: .dataAfterClose),
        // Responses.
        .init(
            name: "response CL with TE",
            input: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            kind: .response, error: .contentLengthWithTransferEncoding),
        .init(
            name: "response two CLs", input: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
            kind: .response, error: .duplicateContentLength),
        .init(
            name: "response CR CR after status line (llhttp takes it)",
            input: "HTTP/1.1 200 OK\r\rContent-Length: 0\r\n\r\n", kind: .response, error: .bareCR, nioRefuses: false),
        .init(
            name: "response NUL in reason (llhttp takes it)", input: "HTTP/1.1 200 O\0K\r\nContent-Length: 0\r\n\r\n",
            kind: .response, error: .invalidReasonPhrase, nioRefuses: false),
        .init(
            name: "response bare LF", input: "HTTP/1.1 200 OK\nContent-Length: 0\n\n", kind: .response, error: .bareLF),
        .init(
            name: "response status of two digits", input: "HTTP/1.1 20 OK\r\n\r\n", kind: .response,
            error: .invalidStatus),
    ]

    @Test(arguments: corpus)
    func skiffRefusesAndNIOAsRecorded(_ entry: Entry) {
        let bytes = Array(entry.input.utf8)
        let methods: [HTTP1Method] = entry.kind == .response ? [.get] : []
        let whole = SkiffRun.parse([bytes], kind: entry.kind, methods: methods)
        #expect(whole.rejected)
        #expect(whole.error == "\(entry.error)")
        // The same verdict when the bytes arrive one at a time.
        if bytes.count < 2000 {
            let split = SkiffRun.parse(bytes.map { [$0] }, kind: entry.kind, methods: methods)
            #expect(split.rejected)
            #expect(split.error == "\(entry.error)")
        }
        let nio = NIORun.parse([bytes], kind: entry.kind, methods: methods)
        #expect(nio.rejected == entry.nioRefuses, "NIO: \(nio)")
    }
}
