import Foundation

/// The machine's memory as the controller budgets it: `MemAvailable` and `MemTotal` from
/// /proc/meminfo, or from an injected reader in tests.
public struct MemoryGauge: Sendable {
    public struct Reading: Sendable {
        public var available: Int64
        public var total: Int64

        public init(available: Int64, total: Int64) {
            self.available = available
            self.total = total
        }
    }

    /// What an instance without a memory limit is assumed to need.
    public static let unlimitedInstanceEstimate: Int64 = 64 << 20

    private let read: @Sendable () -> Reading?

    public init(read: @escaping @Sendable () -> Reading? = MemoryGauge.procMeminfo) {
        self.read = read
    }

    /// Less than `reserve` (a share of the total) is available.
    public func isUnderPressure(reserve: Double) -> Bool {
        guard let reading = read(), reading.total > 0 else { return false }
        return Double(reading.available) < Double(reading.total) * reserve
    }

    /// How many of `count` new instances of `each` bytes fit while keeping `reserve` of the
    /// total free; all of them when memory cannot be read.
    public func instancesThatFit(_ count: Int, each: Int64?, reserve: Double) -> Int {
        guard count > 0, let reading = read(), reading.total > 0 else { return max(0, count) }
        let spare = Double(reading.available) - Double(reading.total) * reserve
        let size = Double(max(each ?? Self.unlimitedInstanceEstimate, 1))
        return max(0, min(count, Int(spare / size)))
    }

    @Sendable public static func procMeminfo() -> Reading? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        var available: Int64?
        var total: Int64?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Int64(fields[1]) else { continue }
            if fields[0] == "MemAvailable:" { available = kib * 1024 }
            if fields[0] == "MemTotal:" { total = kib * 1024 }
        }
        guard let available, let total else { return nil }
        return Reading(available: available, total: total)
    }
}
