/// The routing key a request's `Host` header names: `NAME.DOMAIN` or `TAG---NAME.DOMAIN`.
///
/// A tag route is its own key (`TAG---NAME`) in the ``RoutingTable``; `service` and `tag` are
/// kept apart for callers that need them (traffic splits, metrics).
public struct HostRoute: Sendable, Hashable {
    /// The key looked up in the routing table: the lower-cased first label.
    public var key: String
    /// The service name.
    public var service: String
    /// The tag, for `TAG---NAME` hosts.
    public var tag: String?

    /// Parses a `Host` header value against the gateway's domain.
    ///
    /// Returns `nil` when the host is not exactly one label below `domain` (port ignored,
    /// comparison case-insensitive), or the label is malformed (`---NAME`, `TAG---`).
    public init?(host: String, domain: String) {
        var name = Substring(host)
        // Strip the port; IPv6 literals never route by name, so a bracket means "no route".
        if name.utf8.first == UInt8(ascii: "[") { return nil }
        if let colon = name.utf8.lastIndex(of: UInt8(ascii: ":")) {
            name = name[..<colon]
        }
        // A fully qualified name may end with a dot.
        if name.utf8.last == UInt8(ascii: ".") { name = name.dropLast() }
        let domainUTF8 = domain.utf8
        guard name.utf8.count > domainUTF8.count + 1 else { return nil }
        let suffixStart = name.utf8.index(name.utf8.endIndex, offsetBy: -domainUTF8.count)
        let dot = name.utf8.index(before: suffixStart)
        guard name.utf8[dot] == UInt8(ascii: "."),
            Self.equalsIgnoringASCIICase(name.utf8[suffixStart...], domainUTF8)
        else { return nil }
        let label = name.utf8[..<dot]
        guard !label.contains(UInt8(ascii: ".")) else { return nil }
        let key = Self.asciiLowercased(label)
        self.key = key
        if let range = key.firstRange(of: "---") {
            let tag = key[..<range.lowerBound]
            let service = key[range.upperBound...]
            guard !tag.isEmpty, !service.isEmpty else { return nil }
            self.tag = String(tag)
            self.service = String(service)
        } else {
            self.tag = nil
            self.service = key
        }
    }

    private static func equalsIgnoringASCIICase(_ a: Substring.UTF8View, _ b: String.UTF8View) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where lower(x) != lower(y) {
            return false
        }
        return true
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    private static func asciiLowercased(_ bytes: Substring.UTF8View) -> String {
        if !bytes.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) {
            return String(Substring(bytes))
        }
        return String(decoding: bytes.lazy.map(lower), as: UTF8.self)
    }
}
