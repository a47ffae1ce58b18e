/// A duration in the API: written as text (`60s`, `250ms`, `15m`), read from text or a bare
/// number of seconds, the way Knative's annotations and `timeoutSeconds` give them.
public struct TimeSpan: Codable, Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var duration: Duration

    public init(_ duration: Duration) {
        self.duration = duration
    }

    public init(integerLiteral seconds: Int) {
        self.duration = .seconds(seconds)
    }

    public static func seconds(_ seconds: Int) -> TimeSpan { TimeSpan(.seconds(seconds)) }
    public static func milliseconds(_ milliseconds: Int) -> TimeSpan { TimeSpan(.milliseconds(milliseconds)) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            guard seconds >= 0, seconds.isFinite else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "invalid duration \(seconds): must not be negative")
            }
            self.duration = .milliseconds(Int64((seconds * 1000).rounded()))
            return
        }
        let text = try container.decode(String.self)
        do {
            self.duration = try DurationText.parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String { DurationText.format(duration) }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.duration < rhs.duration }
}
