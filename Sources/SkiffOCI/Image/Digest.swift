/// A content digest `algorithm:encoded` as the OCI image spec defines it.
///
/// Only `sha256` (64 lowercase hex) and `sha512` (128 lowercase hex) are accepted: they are
/// the registered algorithms, and a strict grammar keeps digests safe to use as file names.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The algorithm, `sha256` or `sha512`.
    public let algorithm: String
    /// The hex-encoded hash.
    public let encoded: String

    public init(_ string: String) throws(OCIError) {
        guard let colon = string.firstIndex(of: ":") else {
            throw OCIError(.invalidDigest, "invalid digest \"\(string)\": expected algorithm:hex")
        }
        let algorithm = String(string[..<colon])
        let encoded = String(string[string.index(after: colon)...])
        let expectedLength: Int
        switch algorithm {
        case "sha256": expectedLength = 64
        case "sha512": expectedLength = 128
        default:
            throw OCIError(.invalidDigest, "invalid digest \"\(string)\": unsupported algorithm \"\(algorithm)\"")
        }
        guard encoded.utf8.count == expectedLength,
            encoded.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else {
            throw OCIError(
                .invalidDigest,
                "invalid digest \"\(string)\": \(algorithm) needs \(expectedLength) lowercase hex digits")
        }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// A sha256 digest from raw hash bytes.
    public init(sha256 bytes: some Sequence<UInt8>) {
        self.algorithm = "sha256"
        self.encoded = bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    public var description: String { "\(algorithm):\(encoded)" }

    /// The first 12 hex digits, as people read them in tables.
    public var short: String { String(encoded.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = try Digest(container.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
