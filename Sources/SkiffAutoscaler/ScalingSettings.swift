public import SkiffModel

/// A revision's autoscaling settings, in the autoscaler's units (a utilization share, not a
/// percentage; `Duration`s). The defaults are a default ``ScalingSpec``'s, which holds
/// Knative's; only the scale rates, which no spec sets, are spelled here.
public struct ScalingSettings: Sendable, Hashable {
    /// Soft concurrency per instance the autoscaler aims at (`--target`).
    public var target: Double
    /// Share of `target` actually aimed at, 0 < u ≤ 1 (`--target-utilization 70`).
    public var targetUtilization: Double
    public var minInstances: Int
    /// 0: unlimited.
    public var maxInstances: Int
    /// Averaging window for the stable decision (`--window`).
    public var stableWindow: Duration
    /// The panic window as a share of the stable window (`--panic-window-percentage`).
    public var panicWindowPercentage: Double
    /// Panic when the panic-window desire reaches this share of the ready instances.
    public var panicThresholdPercentage: Double
    /// One decision grows the ready instances by at most this factor.
    /// Knative default: max scale-up rate 1000 (`max-scale-up-rate`, config-autoscaler).
    public var maxScaleUpRate: Double = 1000
    /// One decision shrinks the ready instances by at most this factor.
    /// Knative default: max scale-down rate 2 (`max-scale-down-rate`, config-autoscaler).
    public var maxScaleDownRate: Double = 2
    /// Scale-downs take the highest desire seen over this window (`--scale-down-delay`).
    public var scaleDownDelay: Duration
    /// Idle time at zero concurrency before the last instance goes (`--scale-to-zero-grace`).
    public var scaleToZeroGrace: Duration

    /// The settings of a default ``ScalingSpec``: Knative's defaults.
    public init() {
        self.init(ScalingSpec())
    }

    /// The settings a revision's spec asks for.
    public init(_ spec: ScalingSpec) {
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

    /// Concurrency per instance the decision divides by.
    public var targetPerInstance: Double { max(0.01, target * targetUtilization) }

    public var panicWindow: Duration { stableWindow * (panicWindowPercentage / 100) }
}
