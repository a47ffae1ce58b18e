/// A `HOST:PORT` listen address as `skiff server --http/--api` take it; IPv6 hosts in
/// brackets (`[::1]:7070`).
struct ListenAddress: Hashable, Sendable {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(parsing text: String, option: String) throws(CLIError) {
        func fail(_ why: String) -> CLIError {
            CLIError(.invalidInput, "invalid \(option) \"\(text)\": \(why) (expected HOST:PORT, e.g. 127.0.0.1:8080)")
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("missing ']'") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw fail("missing port") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw fail("missing port") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { throw fail("put an IPv6 address in brackets, e.g. [::1]:8080") }
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace }) else { throw fail("missing host") }
        guard let port = Int(portText), (1...65535).contains(port) else { throw fail("port must be 1-65535") }
        self.host = String(host)
        self.port = port
    }
}
