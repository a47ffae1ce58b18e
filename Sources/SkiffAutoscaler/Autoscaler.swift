/// Knative's KPA as pure code: concurrency samples in, a desired instance count out, on
/// whatever clock the caller injects (the server's, or `skiff simulate`'s).
///
/// Each tick: average the per-second concurrency over the stable and panic windows;
/// desired = ⌈average ÷ (target × utilization)⌉, limited to ×1000 up and ÷2 down per tick;
/// panic when the panic-window desire is at least the panic threshold × ready instances, and
/// in panic never scale down, until one stable window passes without crossing the threshold;
/// then the scale-down delay, scale to zero only after the grace period, and min/max.
public struct Autoscaler: Sendable {
    public struct Decision: Sendable, Equatable {
        public var desired: Int
        public var stableConcurrency: Double
        public var panicConcurrency: Double
        public var inPanic: Bool
    }

    public var settings: ScalingSettings
    private var window: ConcurrencyWindow
    private var panicStartedAt: Duration?
    private var maxPanicInstances = 0
    /// Desires of recent ticks, for the scale-down delay.
    private var recentDesires: [(at: Duration, desired: Int)] = []
    private var lastActiveAt: Duration?

    public init(settings: ScalingSettings) {
        self.settings = settings
        self.window = ConcurrencyWindow(length: settings.stableWindow)
    }

    /// Records the revision's total in-flight requests (all instances) observed at `now`.
    public mutating func record(concurrency: Double, at now: Duration) {
        window.record(concurrency, at: now)
        if concurrency > 0 { lastActiveAt = now }
    }

    /// A request arrived while nothing could take it: wake at once (the activator's poke).
    public mutating func noteDemand(at now: Duration) {
        lastActiveAt = now
    }

    public mutating func decide(now: Duration, readyInstances: Int) -> Decision {
        let stable = window.average(over: settings.stableWindow, now: now)
        let panic = window.average(over: settings.panicWindow, now: now)
        let ready = max(1, readyInstances)
        let maxUp = Int((settings.maxScaleUpRate * Double(ready)).rounded(.up))
        let maxDown = Int((Double(ready) / settings.maxScaleDownRate).rounded(.down))
        let perInstance = settings.targetPerInstance
        let stableDesire = min(max(Int((stable / perInstance).rounded(.up)), maxDown), maxUp)
        let panicDesire = min(max(Int((panic / perInstance).rounded(.up)), maxDown), maxUp)

        let overThreshold = Double(panicDesire) / Double(ready) >= settings.panicThresholdPercentage / 100
        if overThreshold {
            panicStartedAt = now
        } else if let started = panicStartedAt, now - started >= settings.stableWindow {
            panicStartedAt = nil
            maxPanicInstances = 0
        }
        var desired = stableDesire
        if panicStartedAt != nil {
            maxPanicInstances = max(maxPanicInstances, panicDesire, readyInstances)
            desired = maxPanicInstances
        }

        if settings.scaleDownDelay > .zero {
            recentDesires.removeAll { now - $0.at >= settings.scaleDownDelay }
            recentDesires.append((now, desired))
            desired = recentDesires.map(\.desired).max() ?? desired
        }

        // At zero concurrency the last instance stays for the grace period after activity.
        if desired == 0, let lastActiveAt, now - lastActiveAt < settings.scaleToZeroGrace {
            desired = 1
        }
        desired = max(desired, settings.minInstances)
        if settings.maxInstances > 0 { desired = min(desired, settings.maxInstances) }
        return Decision(
            desired: desired, stableConcurrency: stable, panicConcurrency: panic, inPanic: panicStartedAt != nil)
    }
}

/// Per-second concurrency buckets over the longest window. A second without a sample counts
/// as zero concurrency: idle time must pull the average down, or nothing would scale down.
struct ConcurrencyWindow: Sendable {
    let length: Duration
    /// Second index → (sum, count) of the samples taken in it.
    private var buckets: [Int64: (sum: Double, count: Int)] = [:]
    private var firstSecond: Int64?

    init(length: Duration) {
        self.length = length
    }

    static func second(_ time: Duration) -> Int64 { time.components.seconds }

    mutating func record(_ value: Double, at now: Duration) {
        let second = Self.second(now)
        if firstSecond == nil { firstSecond = second }
        let bucket = buckets[second] ?? (0, 0)
        buckets[second] = (bucket.sum + value, bucket.count + 1)
        let oldest = second - Self.second(length)
        if buckets.count > Int(length.components.seconds) + 2 {
            buckets = buckets.filter { $0.key > oldest }
        }
    }

    /// The mean per-second concurrency over the last `window` up to `now`, counting seconds
    /// since the first sample only (a fresh revision is not averaged against time before it).
    func average(over window: Duration, now: Duration) -> Double {
        guard let firstSecond else { return 0 }
        let last = Self.second(now)
        let first = max(firstSecond, last - max(1, Self.second(window)) + 1)
        guard last >= first else { return 0 }
        var total = 0.0
        for second in first...last {
            if let bucket = buckets[second] { total += bucket.sum / Double(bucket.count) }
        }
        return total / Double(last - first + 1)
    }
}
