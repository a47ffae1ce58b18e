/// When to restart a crashed instance: 1 s doubling to 5 min, back to 1 s after 10 min healthy
/// (Kubernetes' CrashLoopBackOff schedule).
public struct RestartBackoff: Sendable, Hashable {
    public static let initial: Duration = .seconds(1)
    public static let maximum: Duration = .seconds(300)
    public static let resetAfter: Duration = .seconds(600)

    public private(set) var next: Duration = RestartBackoff.initial

    public init() {}

    /// The delay before the next start, given how long the last run stayed up.
    public mutating func delay(afterRunning uptime: Duration) -> Duration {
        if uptime >= Self.resetAfter { next = Self.initial }
        let delay = next
        next = min(next * 2, Self.maximum)
        return delay
    }
}
