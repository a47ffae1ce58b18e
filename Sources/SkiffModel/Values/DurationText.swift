/// Durations as Skiff reads and writes them: `250ms`, `30s`, `5m`, `1h`, or combined `1h30m`.
public enum DurationText {
    /// Parses `250ms`, `30s`, `5m`, `1h`, `1h30m`, `1.5s`; a bare number is seconds.
    public static func parse(_ string: String, field: String? = nil) throws(ModelError) -> Duration {
        func fail() -> ModelError {
            ModelError(
                .invalidDuration, field: field,
                "invalid duration \"\(string)\": expected e.g. 250ms, 30s, 5m, 1h")
        }
        if let seconds = Double(string), seconds >= 0, string.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        var total: Double = 0
        var rest = Substring(string)
        guard !rest.isEmpty else { throw fail() }
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
            guard !number.isEmpty, let value = Double(number) else { throw fail() }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix(while: { $0.isLetter })
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += value
            case "s": total += value * 1000
            case "m": total += value * 60_000
            case "h": total += value * 3_600_000
            default: throw fail()
            }
        }
        return .milliseconds(Int64(total.rounded()))
    }

    /// Formats in the largest unit that keeps it exact: `250ms`, `30s`, `5m`, `1h`, `1h30m`.
    public static func format(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if ms == 0 { return "0s" }
        if ms % 1000 != 0 {
            return ms < 1000 ? "\(ms)ms" : "\(Double(ms) / 1000)s"
        }
        var seconds = ms / 1000
        var out = ""
        if seconds >= 3600 {
            out += "\(seconds / 3600)h"
            seconds %= 3600
        }
        if seconds >= 60 {
            out += "\(seconds / 60)m"
            seconds %= 60
        }
        if seconds > 0 { out += "\(seconds)s" }
        return out
    }
}

extension Duration {
    /// The duration in seconds, with its fraction: for arithmetic with `Date` and for output.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
