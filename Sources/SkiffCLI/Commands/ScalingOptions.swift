import ArgumentParser
import Foundation
import SkiffModel

/// The autoscaling and timeout flags, shared by `deploy`, `services update` and `simulate`.
///
/// Every flag is optional: an update keeps the deployed value of each flag not given. The
/// defaults the help names are read from ``ScalingSpec`` and ``RequestTimeouts``, which are
/// what a deploy without the flag gets.
struct ScalingOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Hard limit of in-flight requests per instance; excess waits in a queue (0 = unlimited, max \(ScalingSpec.maxConcurrency); default \(ScalingSpec.defaultConcurrency)).",
            valueName: "n"))
    var concurrency: Int?

    @Option(
        help: ArgumentHelp(
            "Soft concurrency per instance the autoscaler aims at (default: --concurrency if set, else \(ScalingSpec.defaultTarget.formatted())).",
            valueName: "n"))
    var target: Double?

    @Option(
        help: ArgumentHelp(
            "Percent of --target to aim at, leaving headroom for bursts (default \(ScalingSpec.defaultTargetUtilization.formatted())).",
            valueName: "percent"))
    var targetUtilization: Double?

    @Option(
        help: ArgumentHelp(
            "Instances kept at all times, even without traffic (default \(ScalingSpec.defaultMinInstances)).",
            valueName: "n"))
    var minInstances: Int?

    @Option(
        help: ArgumentHelp(
            "Most instances the revision may run (0 = unlimited; default \(ScalingSpec.defaultMaxInstances)).",
            valueName: "n"))
    var maxInstances: Int?

    @Option(
        help: ArgumentHelp(
            "Instances started when a revision is created (default \(ScalingSpec.defaultInitialInstances)).",
            valueName: "n"))
    var initialInstances: Int?

    @Option(
        help: ArgumentHelp(
            "The stable window concurrency is averaged over, \(ScalingSpec.windowRange.lowerBound) to \(ScalingSpec.windowRange.upperBound) (default \(ScalingSpec.defaultWindow)).",
            valueName: "duration"))
    var window: String?

    @Option(
        help: ArgumentHelp(
            "The panic window as a percentage of --window (default \(ScalingSpec.defaultPanicWindowPercentage.formatted())).",
            valueName: "percent"))
    var panicWindowPercentage: Double?

    @Option(
        help: ArgumentHelp(
            "Panic (scale up at once, never down) when the panic window wants this percentage of the ready instances (default \(ScalingSpec.defaultPanicThresholdPercentage.formatted())).",
            valueName: "percent"))
    var panicThresholdPercentage: Double?

    @Option(
        help: ArgumentHelp(
            "Scale down only to the highest count wanted over this window (default \(ScalingSpec.defaultScaleDownDelay)).",
            valueName: "duration"))
    var scaleDownDelay: String?

    @Option(
        help: ArgumentHelp(
            "Idle time at zero traffic before the last instance goes (default \(ScalingSpec.defaultScaleToZeroGrace)).",
            valueName: "duration"))
    var scaleToZeroGrace: String?

    @Option(
        help: ArgumentHelp(
            "Freeze an instance (no CPU, memory kept) after this long without requests; 0 never freezes (default \(ScalingSpec.defaultFreezeAfter)).",
            valueName: "duration"))
    var freezeAfter: String?

    @Option(
        help: ArgumentHelp(
            "How long instances stay frozen after scaling to zero, so the next request needs no start (default \(ScalingSpec.defaultFrozenRetention)).",
            valueName: "duration"))
    var frozenRetention: String?

    @Option(
        name: .customLong("timeout"),
        help: ArgumentHelp(
            "Longest a request may take, 0 = none (default \(RequestTimeouts.defaultRequest)).", valueName: "duration"))
    var requestTimeout: String?

    @Option(
        help: ArgumentHelp(
            "Longest wait for the first response byte, including time queued for an instance; 0 = none (default \(RequestTimeouts.defaultResponseStart)).",
            valueName: "duration"))
    var responseStartTimeout: String?

    @Option(
        help: ArgumentHelp(
            "Longest gap between bytes once a request is forwarded; 0 = none (default \(RequestTimeouts.defaultIdle)).",
            valueName: "duration"))
    var idleTimeout: String?

    /// Applies the given flags to `spec`, then checks the result.
    func apply(to spec: inout ServiceSpec) throws(ModelError) {
        if let concurrency { spec.scaling.concurrency = concurrency }
        if let target { spec.scaling.target = target }
        if let targetUtilization { spec.scaling.targetUtilization = targetUtilization }
        if let minInstances { spec.scaling.minInstances = minInstances }
        if let maxInstances { spec.scaling.maxInstances = maxInstances }
        if let initialInstances { spec.scaling.initialInstances = initialInstances }
        if let window { spec.scaling.window = TimeSpan(try DurationText.parse(window, field: "window")) }
        if let panicWindowPercentage { spec.scaling.panicWindowPercentage = panicWindowPercentage }
        if let panicThresholdPercentage { spec.scaling.panicThresholdPercentage = panicThresholdPercentage }
        if let scaleDownDelay {
            spec.scaling.scaleDownDelay = TimeSpan(try DurationText.parse(scaleDownDelay, field: "scale-down-delay"))
        }
        if let scaleToZeroGrace {
            spec.scaling.scaleToZeroGrace = TimeSpan(
                try DurationText.parse(scaleToZeroGrace, field: "scale-to-zero-grace"))
        }
        if let freezeAfter {
            spec.scaling.freezeAfter = TimeSpan(try DurationText.parse(freezeAfter, field: "freeze-after"))
        }
        if let frozenRetention {
            spec.scaling.frozenRetention = TimeSpan(try DurationText.parse(frozenRetention, field: "frozen-retention"))
        }
        if let requestTimeout {
            spec.timeouts.request = TimeSpan(try DurationText.parse(requestTimeout, field: "timeout"))
        }
        if let responseStartTimeout {
            spec.timeouts.responseStart = TimeSpan(
                try DurationText.parse(responseStartTimeout, field: "response-start-timeout"))
        }
        if let idleTimeout { spec.timeouts.idle = TimeSpan(try DurationText.parse(idleTimeout, field: "idle-timeout")) }
        try spec.scaling.validate()
        try spec.timeouts.validate()
    }

    /// Checks the flags alone, before anything is sent: the spec's own rules on a default spec.
    func validateAlone() throws(ModelError) {
        var spec = ServiceSpec(image: "x")
        try apply(to: &spec)
    }
}
