/// An amount of memory written as Kubernetes quantities are: `128Mi`, `1Gi`, `512M`, `1048576`.
///
/// Kept as bytes; printed back in the largest binary unit that divides it exactly, so
/// `128Mi` round-trips as `128Mi`.
public struct MemoryQuantity: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let bytes: Int64

    /// The smallest limit that still starts a container runtime's init process.
    public static let minimum = MemoryQuantity(bytes: 4 * 1024 * 1024)

    public init(bytes: Int64) { self.bytes = bytes }

    public init(_ string: String) throws(ModelError) {
        self.bytes = try Self.bytes(in: string, field: "memory")
        guard bytes >= Self.minimum.bytes else {
            throw ModelError(
                .invalidQuantity, field: "memory", "invalid memory \"\(string)\": must be at least 4Mi")
        }
    }

    /// The bytes a quantity names (`512Mi`, `4Gi`, `2G`, `1048576`), with no lower bound
    /// beyond one byte: for sizes that are not memory limits.
    public static func bytes(in string: String, field: String) throws(ModelError) -> Int64 {
        let suffixes: [(String, Int64)] = [
            ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
            ("k", 1_000), ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
        ]
        func fail(_ why: String) -> ModelError {
            ModelError(
                .invalidQuantity, field: field,
                "invalid \(field) \"\(string)\": \(why) (examples: 128Mi, 1Gi, 512M)")
        }
        var number = Substring(string)
        var multiplier: Int64 = 1
        for (suffix, value) in suffixes where string.hasSuffix(suffix) {
            number = string.dropLast(suffix.count)
            multiplier = value
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            number.filter({ $0 == "." }).count <= 1, let value = Double(number)
        else { throw fail("expected a number with an optional unit suffix") }
        let bytes = (value * Double(multiplier)).rounded(.up)
        guard bytes >= 1, bytes < Double(Int64.max / 2) else { throw fail("out of range") }
        return Int64(bytes)
    }

    public var description: String {
        let units: [(String, Int64)] = [
            ("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("T", 1_000_000_000_000), ("G", 1_000_000_000),
            ("M", 1_000_000), ("Ki", 1 << 10), ("k", 1_000),
        ]
        for (suffix, unit) in units where bytes % unit == 0 {
            return "\(bytes / unit)\(suffix)"
        }
        return "\(bytes)"
    }

    public static func < (lhs: MemoryQuantity, rhs: MemoryQuantity) -> Bool { lhs.bytes < rhs.bytes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = try MemoryQuantity(container.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
