/// An image reference as users write it: `[host[:port]/]path[:tag][@digest]`, or a bare
/// manifest digest `sha256:…` (OCI distribution spec's repository-name grammar).
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// Registry host when the reference names one (`localhost:7070`, `ghcr.io`); nil for local names.
    public var host: String?
    /// Repository path, e.g. `hello` or `team/app`; nil for a bare digest.
    public var repository: String?
    /// The tag, when given.
    public var tag: String?
    /// The digest, when given.
    public var digest: Digest?

    public static let defaultTag = "latest"

    public init(_ string: String) throws(OCIError) {
        func fail(_ why: String) -> OCIError {
            OCIError(.invalidReference, "invalid image reference \"\(string)\": \(why)")
        }
        guard !string.isEmpty, string.utf8.count <= 4096 else { throw fail("must be 1 to 4096 characters") }
        if string.hasPrefix("sha256:") || string.hasPrefix("sha512:") {
            self.digest = try Digest(string)
            return
        }
        var rest = Substring(string)
        if let at = rest.firstIndex(of: "@") {
            self.digest = try Digest(String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        // A ':' after the last '/' starts a tag; one before it belongs to a host:port.
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let tag = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(tag) else {
                throw fail("tag \"\(tag)\" must be 1 to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'")
            }
            self.tag = tag
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.count > 1, let first = components.first, let initial = first.unicodeScalars.first,
            initial.properties.isAlphabetic || ("0"..."9").contains(initial),
            first.contains(".") || first.contains(":") || first == "localhost"
        {
            self.host = first
            components.removeFirst()
        }
        let repository = components.joined(separator: "/")
        guard Self.isValidRepository(repository) else {
            throw fail(
                "repository \"\(repository)\" must be lowercase path components of [a-z0-9] joined by '.', '_', '__' or '-', separated by '/'"
            )
        }
        self.repository = repository
    }

    /// The tag to use: the given one, or `latest` when neither tag nor digest was given.
    public var effectiveTag: String? { tag ?? (digest == nil ? Self.defaultTag : nil) }

    /// `repository:tag`, the name an image is stored under locally.
    public var localName: String? {
        guard let repository, let tag = effectiveTag else { return nil }
        return "\(repository):\(tag)"
    }

    public var description: String {
        var out = ""
        if let host { out += host + "/" }
        if let repository { out += repository }
        if let tag { out += ":" + tag }
        if let digest { out += (repository == nil ? "" : "@") + digest.description }
        return out
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
    public static func isValidRepository(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            let bytes = Array(component.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if isAlnum(byte) {
                    index += 1
                    continue
                }
                // A separator run: '.', '_', '__', or one or more '-'.
                var end = index
                while end < bytes.count, !isAlnum(bytes[end]) { end += 1 }
                let separator = String(decoding: bytes[index..<end], as: UTF8.self)
                guard separator == "." || separator == "_" || separator == "__" || separator.allSatisfy({ $0 == "-" })
                else { return false }
                index = end
            }
        }
        return true
    }

    /// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first, bytes.count <= 128, isAlnum(first) || isUpper(first) || first == 0x5F else {
            return false
        }
        return bytes.allSatisfy { isAlnum($0) || isUpper($0) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
    }
    private static func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
}
