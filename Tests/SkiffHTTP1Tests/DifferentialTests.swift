import Foundation
import SkiffHTTP1
import Testing

/// Runs SkiffHTTP1's parser and NIO's (llhttp) on generated and mutated requests and responses, split at random
/// points, and requires the same verdict: both accept with the same heads (method, target, version, fields in order,
/// keep-alive), bodies and trailers, or both refuse.
///
/// `SKIFF_HTTP1_DIFFERENTIAL=<cases>` sets the number of cases (default 20,000, half requests, half responses);
/// `SKIFF_HTTP1_SEED=<seed>` replays a run. A mismatch prints the seed, the case and its bytes.
///
/// Where SkiffHTTP1 is stricter than NIO, on purpose, the difference is in ``DifferentialTests/Exception``: each is
/// accepted only when our parser refused, with that error, an input that shows that condition, after the same
/// messages as NIO.
@Suite struct DifferentialTests {
    /// The places where SkiffHTTP1 refuses what NIO accepts. Keep this list short: each entry needs a reason.
    enum Exception: CaseIterable {
        /// `Transfer-Encoding:` with an empty value. llhttp ignores the field; it is not a list of codings (RFC 9112
        /// §6.1 `1#transfer-coding`), and passing it on next to a Content-Length invites a desync downstream.
        case emptyTransferEncoding
        /// CR CR at the end of a status line: llhttp takes the second CR as the LF. A bare CR is no line ending
        /// (RFC 9112 §2.2).
        case crCRAfterStatusLine
        /// A control byte (other than HTAB) or DEL in a reason phrase: llhttp takes any byte but CR and LF; RFC 9112
        /// §4 allows HTAB, SP, VCHAR and obs-text, and the gateway writes reasons on to clients.
        case controlByteInReasonPhrase

        /// Whether our refusal (`error`) of `bytes` is this exception.
        func applies(to bytes: [UInt8], error: String) -> Bool {
            switch self {
            case .emptyTransferEncoding:
                return error == "\(HTTP1ParseError.invalidTransferEncoding)" && Self.hasEmptyTransferEncoding(bytes)
            case .crCRAfterStatusLine:
                return error == "\(HTTP1ParseError.bareCR)" && Self.statusLines(bytes).contains { $0.last == 13 }
            case .controlByteInReasonPhrase:
                return error == "\(HTTP1ParseError.invalidReasonPhrase)"
                    && Self.statusLines(bytes).contains { line in
                        line.dropLast().contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
                    }
            }
        }

        private static func hasEmptyTransferEncoding(_ bytes: [UInt8]) -> Bool {
            let text = String(decoding: bytes, as: UTF8.self).lowercased()
            return text.range(of: "\ntransfer-encoding:[ \t]*\r", options: .regularExpression) != nil
        }

        /// Every run that starts `HTTP/` up to (and with) its first CR after the status code, so `line.last` is CR
        /// when the line reached one.
        private static func statusLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
            var lines: [ArraySlice<UInt8>] = []
            var start = 0
            while start < bytes.count {
                // A status line may follow a body directly, so any `HTTP/` counts.
                if bytes[start...].starts(with: Array("HTTP/".utf8)) {
                    var end = start
                    while end < bytes.count && bytes[end] != 13 && bytes[end] != 10 { end += 1 }
                    if end < bytes.count && bytes[end] == 13 && end + 1 < bytes.count && bytes[end + 1] == 13 {
                        lines.append(bytes[start...(end + 1)])
                    } else {
                        lines.append(bytes[start..<min(end + 1, bytes.count)])
                    }
                }
                start += 1
            }
            return lines
        }
    }

    enum Verdict: Equatable {
        case agree
        case exception(Exception)
        case mismatch
    }

    static func compare(_ ours: ParseOutcome, _ nio: ParseOutcome, bytes: [UInt8]) -> Verdict {
        if ours.upgraded {
            // Both stop at an upgrade; what follows is not HTTP/1 and is not compared. (NIO reads on after a 101
            // without Upgrade fields; our parser stops at every 101.)
            let same =
                nio.messages.count >= ours.messages.count
                && Array(nio.messages.prefix(ours.messages.count)) == ours.messages
            return same ? .agree : .mismatch
        }
        if ours.messages == nio.messages && ours.rejected == nio.rejected { return .agree }
        if ours.rejected, nio.messages.count >= ours.messages.count,
            Array(nio.messages.prefix(ours.messages.count)) == ours.messages,
            let exception = Exception.allCases.first(where: { $0.applies(to: bytes, error: ours.error) })
        {
            return .exception(exception)
        }
        return .mismatch
    }

    static var totalCases: Int {
        ProcessInfo.processInfo.environment["SKIFF_HTTP1_DIFFERENTIAL"].flatMap { Int($0) } ?? 20_000
    }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["SKIFF_HTTP1_SEED"].flatMap { UInt64($0) } ?? 0x5EED_4774_0001
    }

    static let shards = 4

    @Test(arguments: 0..<shards)
    func parsersAgreeOnGeneratedRequests(shard: Int) {
        self.run(shard: shard, kind: .request)
    }

    @Test(arguments: 0..<shards)
    func parsersAgreeOnGeneratedResponses(shard: Int) {
        self.run(shard: shard, kind: .response)
    }

    private func run(shard: Int, kind: HTTP1Parser.Kind) {
        let seed = Self.seed &+ UInt64(shard) &* 0x1_0000 &+ (kind == .request ? 0 : 0x8000)
        let cases = Self.totalCases / 2 / Self.shards
        var generator = MessageGenerator(seed: seed)
        var agreed = 0
        var rejected = 0
        var exceptions: [String: Int] = [:]
        var mismatches = 0
        let start = ContinuousClock.now
        for index in 0..<cases {
            let generated = kind == .request ? generator.request() : generator.response()
            let ours = SkiffRun.parse(generated.pieces, kind: kind, methods: generated.methods)
            let nio = NIORun.parse(generated.pieces, kind: kind, methods: generated.methods)
            switch Self.compare(ours, nio, bytes: generated.bytes) {
            case .agree:
                agreed += 1
                if ours.rejected { rejected += 1 }
            case .exception(let exception):
                exceptions["\(exception)", default: 0] += 1
            case .mismatch:
                mismatches += 1
                if mismatches <= 5 {
                    Issue.record(
                        """
                        \(kind) parsers disagree: seed \(seed), case \(index), mutations \(generated.mutations)
                        input: \(String(decoding: generated.bytes, as: UTF8.self).debugDescription)
                        pieces: \(generated.pieces.map(\.count))
                        ours:
                        \(ours)
                        NIO:
                        \(nio)
                        """)
                }
            }
        }
        print(
            "differential \(kind) shard \(shard): seed \(seed), \(cases) cases, \(agreed) agreed (\(rejected) of "
                + "them refused by both), exceptions \(exceptions), \(mismatches) mismatches, "
                + "\(ContinuousClock.now - start)")
    }
}
