import SkiffHTTP1

/// A small, seeded PRNG (SplitMix64): the differential test's cases are a function of the seed alone.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One generated input: the bytes of one or more messages, how they arrive, and (for responses) the methods of the
/// requests they answer.
struct GeneratedCase {
    var bytes: [UInt8]
    var pieces: [[UInt8]]
    var methods: [HTTP1Method]
    var mutations: [String]
}

/// Generates valid HTTP/1 requests and responses with random methods, targets, fields and framing, then mutates some
/// of them (byte flips, inserted CR, LF, NUL, SP, HTAB or colon, deleted bytes, duplicated lines, truncation) and
/// splits them at random points.
struct MessageGenerator {
    var random: SeededGenerator

    init(seed: UInt64) { self.random = SeededGenerator(seed: seed) }

    private mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &self.random) < probability
    }

    private mutating func pick<T>(_ choices: [T]) -> T {
        choices.randomElement(using: &self.random) ?? choices[0]
    }

    private mutating func int(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self.random)
    }

    // MARK: Pieces

    private static let tokenBytes = Array(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~".utf8)
    private static let urlBytes = Array(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/%\"<>[]\\^`{|}".utf8)

    private mutating func token(_ length: ClosedRange<Int>) -> String {
        String(decoding: (0..<self.int(length)).map { _ in self.pick(Self.tokenBytes) }, as: UTF8.self)
    }

    private mutating func fieldValue() -> [UInt8] {
        var value: [UInt8] = []
        for _ in 0..<self.int(0...24) {
            switch self.int(0...19) {
            case 0: value.append(UInt8(ascii: " "))
            case 1: value.append(UInt8(ascii: "\t"))
            case 2: value.append(UInt8(self.int(0x80...0xFF)))
            default: value.append(UInt8(self.int(0x21...0x7E)))
            }
        }
        return value
    }

    private mutating func target(for method: HTTP1Method) -> String {
        if method == .connect { return self.pick(["example.com:443", "10.0.0.1:8080", "user@host:1", "[::1]:443"]) }
        switch self.int(0...9) {
        case 0: return "*"
        case 1: return "http://example.com" + (self.chance(0.5) ? "/a?b=c" : "")
        case 2: return "/" + self.urlPath() + "?" + self.urlPath() + (self.chance(0.3) ? "#" + self.urlPath() : "")
        default: return "/" + self.urlPath()
        }
    }

    private mutating func urlPath() -> String {
        String(decoding: (0..<self.int(0...20)).map { _ in self.pick(Self.urlBytes) }, as: UTF8.self)
    }

    private mutating func connectionValue() -> String {
        let options = ["close", "keep-alive", "upgrade", "Close", "KEEP-ALIVE", "Upgrade", "te", "foo", "closed"]
        var value = self.pick(options)
        for _ in 0..<self.int(0...2) {
            value += self.pick([",", ", ", " ,", ",\t"]) + self.pick(options)
        }
        return value
    }

    private mutating func transferEncodingValue() -> String {
        self.pick([
            "chunked", "chunked", "chunked", "Chunked", "gzip, chunked", "identity", "gzip", "chunked, gzip",
            "xchunked", "chunked ", "deflate,chunked", "gzip,  chunked",
        ])
    }

    private mutating func commonFields(into fields: inout [(String, [UInt8])]) {
        for _ in 0..<self.int(0...6) {
            switch self.int(0...9) {
            case 0: fields.append(("Host", Array("example.com".utf8)))
            case 1: fields.append(("User-Agent", Array("curl/8.5.0".utf8)))
            case 2: fields.append(("Accept", Array("*/*".utf8)))
            case 3:
                fields.append(
                    (self.pick(["Connection", "connection", "Proxy-Connection"]), Array(self.connectionValue().utf8)))
            case 4: fields.append(("Upgrade", Array(self.pick(["websocket", "h2c", ""]).utf8)))
            case 5: fields.append(("X-" + self.token(1...10), self.fieldValue()))
            default: fields.append((self.token(1...16), self.fieldValue()))
            }
        }
    }

    private enum Framing { case none, length, chunked, untilClose }

    /// Appends a body with the framing chosen, and the framing fields to `fields`.
    private mutating func body(
        _ framing: Framing, fields: inout [(String, [UInt8])]
    ) -> [UInt8] {
        switch framing {
        case .none, .untilClose:
            if framing == .untilClose { return Array(self.urlPath().utf8) }
            if self.chance(0.2) { fields.append(("Content-Length", Array("0".utf8))) }
            return []
        case .length:
            let body = Array(self.urlPath().utf8)
            fields.append((self.pick(["Content-Length", "content-length"]), Array("\(body.count)".utf8)))
            return body
        case .chunked:
            fields.append(
                (
                    self.pick(["Transfer-Encoding", "transfer-encoding"]),
                    Array(self.pick(["chunked", "Chunked", "gzip, chunked", "chunked"]).utf8)
                ))
            var bytes: [UInt8] = []
            for _ in 0..<self.int(0...3) {
                let data = Array(self.urlPath().utf8) + [UInt8(ascii: "x")]
                var size = String(data.count, radix: 16, uppercase: self.chance(0.3))
                if self.chance(0.1) { size = "00" + size }
                bytes += Array(size.utf8)
                if self.chance(0.2) {
                    bytes += Array(self.pick([";a", ";a=b", ";name=\"q \\\" v\"", ";a;b=c", ";x=\"\""]).utf8)
                }
                bytes += Array("\r\n".utf8) + data + Array("\r\n".utf8)
            }
            bytes += Array("0\r\n".utf8)
            if self.chance(0.3) {
                for _ in 0..<self.int(1...2) {
                    bytes += Array((self.token(1...8) + ": ").utf8) + self.fieldValue() + Array("\r\n".utf8)
                }
            }
            bytes += Array("\r\n".utf8)
            return bytes
        }
    }

    private static func head(_ line: String, _ fields: [(String, [UInt8])]) -> [UInt8] {
        var bytes = Array(line.utf8) + Array("\r\n".utf8)
        for (name, value) in fields {
            bytes += Array(name.utf8) + Array(": ".utf8) + value + Array("\r\n".utf8)
        }
        return bytes + Array("\r\n".utf8)
    }

    // MARK: Messages

    mutating func request() -> GeneratedCase {
        var bytes: [UInt8] = []
        for index in 0..<self.int(1...3) {
            if index > 0 && self.chance(0.1) { bytes += Array("\r\n".utf8) }
            let method: HTTP1Method =
                self.chance(0.6) ? self.pick([.get, .post, .put, .head, .delete]) : self.pick(HTTP1Method.allCases)
            var methodName = method.description
            if self.chance(0.01) { methodName = self.pick(["get", "FOO", "DESCRIBE", "PRI", "GET_PARAMETER"]) }
            let version = self.chance(0.85) ? "HTTP/1.1" : self.pick(["HTTP/1.0", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2"])
            var fields: [(String, [UInt8])] = []
            self.commonFields(into: &fields)
            let framing = self.pick([Framing.none, .none, .length, .chunked])
            let body = self.body(framing, fields: &fields)
            if self.chance(0.05) { fields.append(("Transfer-Encoding", Array(self.transferEncodingValue().utf8))) }
            if self.chance(0.03) { fields.append(("Content-Length", Array(self.pick(["1", "01", "1 ", "x"]).utf8))) }
            fields.shuffle(using: &self.random)
            bytes += Self.head("\(methodName) \(self.target(for: method)) \(version)", fields) + body
        }
        return self.finish(bytes, methods: [])
    }

    mutating func response() -> GeneratedCase {
        var bytes: [UInt8] = []
        var methods: [HTTP1Method] = []
        let count = self.int(1...3)
        for index in 0..<count {
            let method: HTTP1Method = self.pick([.get, .get, .post, .head, .put, .delete, .options])
            methods.append(method)
            if self.chance(0.1) {
                bytes += Self.head("HTTP/1.1 \(self.pick([100, 102, 103])) Continue", [])
            }
            let status = self.pick([200, 200, 201, 204, 206, 301, 304, 400, 404, 500, 503, 101, 299, 999])
            let version = self.chance(0.85) ? "HTTP/1.1" : self.pick(["HTTP/1.0", "HTTP/1.0", "HTTP/2.0"])
            var reason = self.pick(["OK", "Not Found", "", "Some Reason", "x\u{00C9}y"])
            if reason.isEmpty && self.chance(0.5) { reason = " " }
            var fields: [(String, [UInt8])] = []
            self.commonFields(into: &fields)
            let last = index == count - 1
            let framing = self.pick(
                last ? [Framing.none, .length, .chunked, .untilClose] : [.none, .length, .chunked])
            var body = self.body(framing, fields: &fields)
            if method == .head || status == 204 || status == 304 || status == 101 { body = [] }
            if status == 101 {
                fields.append(("Upgrade", Array("websocket".utf8)))
                fields.append(("Connection", Array("Upgrade".utf8)))
            }
            if self.chance(0.05) { fields.append(("Transfer-Encoding", Array(self.transferEncodingValue().utf8))) }
            fields.shuffle(using: &self.random)
            let line =
                reason == " "
                ? "\(version) \(status) " : reason.isEmpty ? "\(version) \(status)" : "\(version) \(status) \(reason)"
            bytes += Self.head(line, fields) + body
            if status == 101 {
                bytes += Array("\u{81}\u{05}hello".utf8)
                break
            }
        }
        return self.finish(bytes, methods: methods)
    }

    // MARK: Mutations and splits

    private mutating func finish(_ valid: [UInt8], methods: [HTTP1Method]) -> GeneratedCase {
        var bytes = valid
        var mutations: [String] = []
        if self.chance(0.6) {
            for _ in 0..<self.int(1...3) {
                mutations.append(self.mutate(&bytes))
            }
        }
        return GeneratedCase(bytes: bytes, pieces: self.split(bytes), methods: methods, mutations: mutations)
    }

    private mutating func mutate(_ bytes: inout [UInt8]) -> String {
        guard !bytes.isEmpty else { return "none" }
        let at = self.int(0...(bytes.count - 1))
        switch self.int(0...9) {
        case 0:
            let byte = UInt8.random(in: 0...255, using: &self.random)
            bytes[at] = byte
            return "flip \(at) to \(byte)"
        case 1, 2, 3:
            let inserted = self.pick(["\r", "\n", "\0", " ", ":", "\t", "\r\n", ",", ";", "\u{7F}", "\r\n "])
            bytes.insert(contentsOf: Array(inserted.utf8), at: at)
            return "insert \(inserted.debugDescription) at \(at)"
        case 4:
            bytes.remove(at: at)
            return "delete \(at)"
        case 5, 6:
            // Duplicate one line (a field line, most often).
            let lines = bytes.indices.filter { $0 > 0 && bytes[$0 - 1] == UInt8(ascii: "\n") }
            guard lines.count >= 2 else { return "none" }
            let index = self.int(0...(lines.count - 2))
            let line = Array(bytes[lines[index]..<lines[index + 1]])
            bytes.insert(contentsOf: line, at: lines[index])
            return "duplicate line at \(lines[index])"
        case 7:
            bytes.removeSubrange(at...)
            return "truncate at \(at)"
        case 8:
            let digit = UInt8(ascii: self.pick(["0", "9", "f", "G", "-", "+"]))
            bytes.insert(digit, at: at)
            return "insert \(digit) at \(at)"
        default:
            let byte = UInt8(ascii: self.pick(["\r", "\n", "\0", " ", "\t", ":"]))
            bytes[at] = byte
            return "replace \(at) with \(byte)"
        }
    }

    private mutating func split(_ bytes: [UInt8]) -> [[UInt8]] {
        if bytes.count < 200 && self.chance(0.05) { return bytes.map { [$0] } }
        var cuts = (0..<self.int(0...4)).map { _ in self.int(0...bytes.count) }
        cuts.append(0)
        cuts.append(bytes.count)
        cuts.sort()
        return zip(cuts, cuts.dropFirst()).map { Array(bytes[$0..<$1]) }
    }
}
