/// CPU as Kubernetes writes it: `0.5` or `500m` cores. Kept in millicores.
public struct CPUQuantity: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let millis: Int

    /// Below this the kernel's CFS quota (1 ms per 100 ms period) cannot go.
    public static let minimum = CPUQuantity(millis: 10)

    public init(millis: Int) { self.millis = millis }

    public init(_ string: String) throws(ModelError) {
        func fail(_ why: String) -> ModelError {
            ModelError(.invalidQuantity, field: "cpu", "invalid cpu \"\(string)\": \(why) (examples: 0.5, 500m, 2)")
        }
        let millis: Double
        if string.hasSuffix("m") {
            let number = string.dropLast()
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Double(number) else {
                throw fail("expected whole millicores before 'm'")
            }
            millis = value
        } else {
            guard !string.isEmpty, string.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                string.filter({ $0 == "." }).count <= 1, let value = Double(string)
            else { throw fail("expected a number of cores or millicores") }
            millis = (value * 1000).rounded()
        }
        guard millis >= Double(Self.minimum.millis) else { throw fail("must be at least 10m") }
        guard millis <= 1_000_000 else { throw fail("out of range") }
        self.millis = Int(millis)
    }

    public var description: String {
        millis % 1000 == 0 ? "\(millis / 1000)" : "\(millis)m"
    }

    public static func < (lhs: CPUQuantity, rhs: CPUQuantity) -> Bool { lhs.millis < rhs.millis }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = try CPUQuantity(String(number))
        } else {
            self = try CPUQuantity(container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
