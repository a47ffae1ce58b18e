import NIOCore
import NIOEmbedded
import NIOHTTP1
import SkiffHTTP1

/// What a parser made of some bytes, in a form both parsers can be compared in: the complete messages in order,
/// whether the input was refused, and whether the parser stopped at an upgrade.
struct ParseOutcome: Equatable, CustomStringConvertible {
    struct Field: Equatable, CustomStringConvertible {
        var name: String
        var value: String
        var description: String { "\(name): \(value)" }
    }

    struct Head: Equatable, CustomStringConvertible {
        /// The method of a request; empty for a response.
        var method = ""
        var uri = ""
        /// The status of a response; 0 for a request.
        var status = 0
        var minorVersion = 1
        var fields: [Field] = []
        var keepAlive = true

        var description: String {
            (method.isEmpty ? "\(status)" : "\(method) \(uri)") + " 1.\(minorVersion) keepAlive=\(keepAlive) \(fields)"
        }
    }

    struct Message: Equatable, CustomStringConvertible {
        var head: Head
        var body: [UInt8] = []
        var trailers: [Field]?

        var description: String {
            "\(head) body=\(String(decoding: body, as: UTF8.self).debugDescription) trailers=\(trailers.map(\.description) ?? "nil")"
        }
    }

    var messages: [Message] = []
    var rejected = false
    var upgraded = false
    /// Why the input was refused (for the log).
    var error = ""

    var description: String {
        var lines = messages.map { "  \($0)" }
        if rejected { lines.append("  rejected: \(error)") }
        if upgraded { lines.append("  upgraded") }
        return lines.joined(separator: "\n")
    }
}

/// Runs SkiffHTTP1's parser over bytes arriving in pieces, the way a channel handler would: appending to one buffer
/// and asking for events until it needs more, then finishing at the end of the connection.
enum SkiffRun {
    static func parse(
        _ pieces: [[UInt8]], kind: HTTP1Parser.Kind, methods: [HTTP1Method] = [],
        limits: HTTP1Parser.Limits = .init()
    ) -> ParseOutcome {
        var parser = HTTP1Parser(kind: kind, limits: limits)
        for method in methods { parser.expectResponse(to: method) }
        var outcome = ParseOutcome()
        var current: ParseOutcome.Message?
        var buffer = ByteBuffer()

        func handle(_ event: HTTP1Event) {
            switch event {
            case .head(let head):
                current = ParseOutcome.Message(head: Self.summary(head))
            case .body(let bytes):
                current?.body += Array(bytes.readableBytesView)
            case .end(let trailers):
                current?.trailers = trailers.map { $0.map { ParseOutcome.Field(name: $0.name, value: $0.value) } }
                if let message = current { outcome.messages.append(message) }
                current = nil
            }
        }

        do throws(HTTP1ParseError) {
            for piece in pieces {
                buffer.writeBytes(piece)
                while let event = try parser.next(from: &buffer) { handle(event) }
                if buffer.readerIndex > 64 { buffer.discardReadBytes() }
            }
            if parser.isUpgraded {
                outcome.upgraded = true
            } else {
                while let event = try parser.finish() { handle(event) }
            }
        } catch {
            outcome.rejected = true
            outcome.error = "\(error)"
        }
        return outcome
    }

    static func summary(_ head: HTTP1Head) -> ParseOutcome.Head {
        ParseOutcome.Head(
            method: head.isResponse ? "" : head.method.description,
            uri: head.target,
            status: head.status,
            minorVersion: head.version == .http1_1 ? 1 : 0,
            fields: head.headers.map { ParseOutcome.Field(name: $0.name, value: $0.value) },
            keepAlive: head.keepAlive
        )
    }
}

/// Runs NIO's `HTTPRequestDecoder` or `HTTPResponseDecoder` (llhttp) in an `EmbeddedChannel` over the same pieces.
enum NIORun {
    static func parse(_ pieces: [[UInt8]], kind: HTTP1Parser.Kind, methods: [HTTP1Method] = []) -> ParseOutcome {
        let channel = EmbeddedChannel()
        var outcome = ParseOutcome()
        var current: ParseOutcome.Message?

        func drain() throws {
            switch kind {
            case .request:
                while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                    switch part {
                    case .head(let head):
                        current = ParseOutcome.Message(
                            head: ParseOutcome.Head(
                                // NIO names M-SEARCH `MSEARCH`.
                                method: head.method == .MSEARCH ? "M-SEARCH" : head.method.rawValue, uri: head.uri,
                                minorVersion: head.version.minor,
                                fields: head.headers.map { ParseOutcome.Field(name: $0.name, value: $0.value) },
                                keepAlive: head.isKeepAlive))
                    case .body(let bytes):
                        current?.body += Array(bytes.readableBytesView)
                    case .end(let trailers):
                        end(trailers)
                    }
                }
            case .response:
                while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                    switch part {
                    case .head(let head):
                        current = ParseOutcome.Message(
                            head: ParseOutcome.Head(
                                status: Int(head.status.code), minorVersion: head.version.minor,
                                fields: head.headers.map { ParseOutcome.Field(name: $0.name, value: $0.value) },
                                keepAlive: head.isKeepAlive))
                        // NIO forwards an informational head without an end.
                        if head.status.code / 100 == 1 && head.status.code != 101 { end(nil) }
                    case .body(let bytes):
                        current?.body += Array(bytes.readableBytesView)
                    case .end(let trailers):
                        end(trailers)
                    }
                }
            }
        }

        func end(_ trailers: HTTPHeaders?) {
            current?.trailers = trailers.map { $0.map { ParseOutcome.Field(name: $0.name, value: $0.value) } }
            if let message = current { outcome.messages.append(message) }
            current = nil
        }

        do {
            switch kind {
            case .request:
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
            case .response:
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(HTTPResponseDecoder(informationalResponseStrategy: .forward)))
                for method in methods {
                    try channel.writeOutbound(
                        HTTPClientRequestPart.head(
                            HTTPRequestHead(
                                version: .http1_1, method: HTTPMethod(rawValue: method.description), uri: "/")))
                }
                while try channel.readOutbound(as: HTTPClientRequestPart.self) != nil {}
            }
            for piece in pieces {
                var buffer = channel.allocator.buffer(capacity: piece.count)
                buffer.writeBytes(piece)
                defer { try? drain() }
                try channel.writeInbound(buffer)
            }
            try drain()
            try channel.close().wait()
            try channel.throwIfErrorCaught()
            try drain()
        } catch {
            outcome.rejected = true
            outcome.error = "\(error)"
        }
        _ = try? channel.finish(acceptAlreadyClosed: true)
        return outcome
    }
}
