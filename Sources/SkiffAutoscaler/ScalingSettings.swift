public import SkiffModel

/// A revision's autoscaling settings, with Knative's defaults.
public struct ScalingSettings: Sendable, Hashable {
    /// Soft concurrency per instance the autoscaler aims at (`--target`).
    public var target: Double = 100
    /// Share of `target` actually aimed at, 0 < u ≤ 1 (`--target-utilization 70`).
    public var targetUtilization: Double = 0.7
    public var minInstances = 0
    /// 0: unlimited.
    public var maxInstances = 0
    /// Averaging window for the stable decision (`--window`).
    public var stableWindow: Duration = .seconds(60)
    /// The panic window as a share of the stable window (`--panic-window-percentage`).
    public var panicWindowPercentage: Double = 10
    /// Panic when the panic-window desire reaches this share of the ready instances.
    public var panicThresholdPercentage: Double = 200
    public var maxScaleUpRate: Double = 1000
    public var maxScaleDownRate: Double = 2
    /// Scale-downs take the highest desire seen over this window (`--scale-down-delay`).
    public var scaleDownDelay: Duration = .zero
    /// Idle time at zero concurrency before the last instance goes (`--scale-to-zero-grace`).
    public var scaleToZeroGrace: Duration = .seconds(30)

    public init() {}

    /// Concurrency per instance the decision divides by.
    public var targetPerInstance: Double { max(0.01, target * targetUtilization) }

    public var panicWindow: Duration { stableWindow * (panicWindowPercentage / 100) }
}

extension ScalingSettings {
    /// The settings a revision's spec asks for.
    public init(_ spec: ScalingSpec) {
        self.init()
        target = spec.effectiveTarget
        targetUtilization = spec.targetUtilization / 100
        minInstances = spec.minInstances
        maxInstances = spec.maxInstances
        stableWindow = spec.window.duration
        panicWindowPercentage = spec.panicWindowPercentage
        panicThresholdPercentage = spec.panicThresholdPercentage
        scaleDownDelay = spec.scaleDownDelay.duration
        scaleToZeroGrace = spec.scaleToZeroGrace.duration
    }
}
