/// A service name: a DNS label (RFC 1035) so that `NAME.DOMAIN` is a valid host name.
///
/// Lowercase letters, digits and `-`, starting with a letter, ending with a letter or digit,
/// at most 49 characters so that revision names (`NAME-00001`) and `TAG---NAME` hosts
/// still fit in a 63-character label.
public struct ServiceName: Hashable, Sendable, Codable, CustomStringConvertible, Comparable,
    ExpressibleByStringLiteral
{
    public static let maxLength = 49
    public let rawValue: String

    public init(_ string: String) throws(ModelError) {
        func fail(_ why: String) -> ModelError {
            ModelError(.invalidName, field: "name", "invalid service name \"\(string)\": \(why)")
        }
        guard !string.isEmpty else { throw fail("must not be empty") }
        guard string.utf8.count <= Self.maxLength else {
            throw fail("must be at most \(Self.maxLength) characters")
        }
        let bytes = Array(string.utf8)
        guard DNSLabel.hasOnlyLabelCharacters(string) else {
            throw fail("use only lowercase letters, digits and '-' (a DNS label)")
        }
        guard let first = bytes.first, first >= 0x61 && first <= 0x7A else {
            throw fail("must start with a lowercase letter")
        }
        guard let last = bytes.last, last != 0x2D else { throw fail("must not end with '-'") }
        guard !string.contains("--") else { throw fail("must not contain '--' (reserved for tag routes)") }
        self.rawValue = string
    }

    /// For literals in tests and defaults; traps on an invalid literal, which is a programming error.
    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure("invalid ServiceName literal: \(error)") }
    }

    public var description: String { rawValue }
    public static func < (lhs: ServiceName, rhs: ServiceName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = try ServiceName(container.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
