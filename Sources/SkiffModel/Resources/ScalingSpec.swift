/// How a revision's instance count follows its traffic: Knative's autoscaling settings, with
/// Knative's defaults and bounds, plus Skiff's freezing tiers.
///
/// Every field is optional in JSON; a missing one takes its default. The defaults are the
/// `default…` constants below, the one place they are spelled: the autoscaler's settings and
/// the CLI's help text read them from here.
public struct ScalingSpec: Codable, Sendable, Hashable {
    /// Hard limit of in-flight requests per instance; 0 is unlimited. Excess requests wait in
    /// the revision's queue in the gateway (Knative's `containerConcurrency`).
    public var concurrency: Int = Self.defaultConcurrency
    /// Soft concurrency per instance the autoscaler aims at; unset means `concurrency` when
    /// that is set, else ``defaultTarget`` (Knative's `autoscaling.knative.dev/target`).
    public var target: Double?
    /// Percent of `target` actually aimed at, leaving headroom for bursts.
    public var targetUtilization: Double = Self.defaultTargetUtilization
    public var minInstances: Int = Self.defaultMinInstances
    /// 0 is unlimited (the controller still refuses to exceed the machine's memory).
    public var maxInstances: Int = Self.defaultMaxInstances
    /// Instances started when the revision is created, before any traffic.
    public var initialInstances: Int = Self.defaultInitialInstances
    /// The stable window the average concurrency is taken over.
    public var window: TimeSpan = Self.defaultWindow
    /// The panic window, as a percentage of `window`.
    public var panicWindowPercentage: Double = Self.defaultPanicWindowPercentage
    /// Panic when the panic window asks for this percentage of the ready instances.
    public var panicThresholdPercentage: Double = Self.defaultPanicThresholdPercentage
    /// Scale-downs use the highest desired count seen over this window.
    public var scaleDownDelay: TimeSpan = Self.defaultScaleDownDelay
    /// Idle time at zero traffic before the last instance goes.
    public var scaleToZeroGrace: TimeSpan = Self.defaultScaleToZeroGrace
    /// An instance with no request in flight for this long is frozen (memory kept, no CPU)
    /// and thawed by its next request; 0 never freezes.
    public var freezeAfter: TimeSpan = Self.defaultFreezeAfter
    /// After scaling to zero, the last instances stay frozen this long, so the next request
    /// thaws one instead of starting one; memory pressure removes them sooner.
    public var frozenRetention: TimeSpan = Self.defaultFrozenRetention

    // MARK: Defaults

    /// Knative default: container concurrency 0, unlimited (`container-concurrency`, config-defaults).
    public static let defaultConcurrency = 0
    /// Knative default: target 100 concurrent requests per instance
    /// (`container-concurrency-target-default`, config-autoscaler).
    public static let defaultTarget: Double = 100
    /// Knative default: aim at 70 % of the target (`container-concurrency-target-percentage`).
    public static let defaultTargetUtilization: Double = 70
    /// Knative default: min scale 0, so a revision scales to zero (`autoscaling.knative.dev/min-scale`).
    public static let defaultMinInstances = 0
    /// Knative default: max scale 0, unlimited (`max-scale`, config-autoscaler).
    public static let defaultMaxInstances = 0
    /// Knative default: initial scale 1 (`initial-scale`, config-autoscaler).
    public static let defaultInitialInstances = 1
    /// Knative default: stable window 60 s (`stable-window`, config-autoscaler).
    public static let defaultWindow = TimeSpan.seconds(60)
    /// Knative default: panic window 10 % of the stable window (`panic-window-percentage`).
    public static let defaultPanicWindowPercentage: Double = 10
    /// Knative default: panic at 200 % of the ready instances (`panic-threshold-percentage`).
    public static let defaultPanicThresholdPercentage: Double = 200
    /// Knative default: scale-down delay 0 s (`scale-down-delay`, config-autoscaler).
    public static let defaultScaleDownDelay = TimeSpan.seconds(0)
    /// Knative default: scale-to-zero grace period 30 s (`scale-to-zero-grace-period`).
    public static let defaultScaleToZeroGrace = TimeSpan.seconds(30)
    /// Skiff's own (Knative does not freeze): freeze an instance after 1 s without a request,
    /// long enough for a keep-alive client's next request to find it warm.
    public static let defaultFreezeAfter = TimeSpan.seconds(1)
    /// Skiff's own (Knative keeps nothing at zero): frozen instances stay 15 min after a scale
    /// to zero.
    public static let defaultFrozenRetention = TimeSpan.seconds(15 * 60)

    /// Knative's limits.
    public static let maxConcurrency = 1000
    public static let windowRange = TimeSpan.seconds(6)...TimeSpan.seconds(3600)
    public static let panicThresholdRange = 110.0...1000.0

    public init() {}

    /// The target the autoscaler divides by, before utilization.
    public var effectiveTarget: Double {
        if let target { return concurrency > 0 ? min(target, Double(concurrency)) : target }
        return concurrency > 0 ? Double(concurrency) : Self.defaultTarget
    }

    /// Requests the gateway may hold for this revision while capacity is short: ten per
    /// concurrency slot of the instances it may scale to (max-instances, or 100 when that is
    /// unlimited), at most 10 000; 10 000 when concurrency is unlimited. Per slot of the
    /// capacity being scaled to, not of one instance: a burst on a revision at zero must wait
    /// for the instances the autoscaler is starting, not be turned away.
    public var queueDepth: Int {
        guard concurrency > 0 else { return Self.maxQueueDepth }
        return min(Self.maxQueueDepth, 10 * concurrency * (maxInstances > 0 ? maxInstances : 100))
    }

    public static let maxQueueDepth = 10_000

    enum CodingKeys: String, CodingKey {
        case concurrency, target, targetUtilization, minInstances, maxInstances, initialInstances, window
        case panicWindowPercentage, panicThresholdPercentage, scaleDownDelay, scaleToZeroGrace, freezeAfter
        case frozenRetention
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ScalingSpec()
        concurrency = try c.decodeIfPresent(Int.self, forKey: .concurrency) ?? d.concurrency
        target = try c.decodeIfPresent(Double.self, forKey: .target)
        targetUtilization = try c.decodeIfPresent(Double.self, forKey: .targetUtilization) ?? d.targetUtilization
        minInstances = try c.decodeIfPresent(Int.self, forKey: .minInstances) ?? d.minInstances
        maxInstances = try c.decodeIfPresent(Int.self, forKey: .maxInstances) ?? d.maxInstances
        initialInstances = try c.decodeIfPresent(Int.self, forKey: .initialInstances) ?? d.initialInstances
        window = try c.decodeIfPresent(TimeSpan.self, forKey: .window) ?? d.window
        panicWindowPercentage =
            try c.decodeIfPresent(Double.self, forKey: .panicWindowPercentage) ?? d.panicWindowPercentage
        panicThresholdPercentage =
            try c.decodeIfPresent(Double.self, forKey: .panicThresholdPercentage) ?? d.panicThresholdPercentage
        scaleDownDelay = try c.decodeIfPresent(TimeSpan.self, forKey: .scaleDownDelay) ?? d.scaleDownDelay
        scaleToZeroGrace = try c.decodeIfPresent(TimeSpan.self, forKey: .scaleToZeroGrace) ?? d.scaleToZeroGrace
        freezeAfter = try c.decodeIfPresent(TimeSpan.self, forKey: .freezeAfter) ?? d.freezeAfter
        frozenRetention = try c.decodeIfPresent(TimeSpan.self, forKey: .frozenRetention) ?? d.frozenRetention
    }

    /// Checks ranges and cross-field rules; the message names the CLI flag.
    public func validate() throws(ModelError) {
        func fail(_ field: String, _ message: String) -> ModelError {
            ModelError(.invalidValue, field: field, message)
        }
        let limit = ServiceSpec.maxInstancesLimit
        guard (0...Self.maxConcurrency).contains(concurrency) else {
            throw fail(
                "concurrency",
                "invalid concurrency \(concurrency): must be between 0 (unlimited) and \(Self.maxConcurrency)")
        }
        if let target, !(0.01...Double(Self.maxConcurrency)).contains(target) {
            throw fail("target", "invalid target \(target): must be between 0.01 and \(Self.maxConcurrency)")
        }
        guard (1...100).contains(targetUtilization) else {
            throw fail(
                "targetUtilization",
                "invalid target-utilization \(targetUtilization): must be a percentage between 1 and 100")
        }
        guard (0...limit).contains(minInstances) else {
            throw fail("minInstances", "invalid min-instances \(minInstances): must be between 0 and \(limit)")
        }
        guard (0...limit).contains(maxInstances) else {
            throw fail(
                "maxInstances", "invalid max-instances \(maxInstances): must be between 0 (unlimited) and \(limit)")
        }
        guard maxInstances == 0 || minInstances <= maxInstances else {
            throw fail("minInstances", "min-instances \(minInstances) is more than max-instances \(maxInstances)")
        }
        guard (0...limit).contains(initialInstances) else {
            throw fail(
                "initialInstances", "invalid initial-instances \(initialInstances): must be between 0 and \(limit)")
        }
        guard maxInstances == 0 || initialInstances <= maxInstances else {
            throw fail(
                "initialInstances", "initial-instances \(initialInstances) is more than max-instances \(maxInstances)")
        }
        guard Self.windowRange.contains(window) else {
            throw fail("window", "invalid window \(window): must be between 6s and 1h")
        }
        guard (1...100).contains(panicWindowPercentage) else {
            throw fail(
                "panicWindowPercentage",
                "invalid panic-window-percentage \(panicWindowPercentage): must be between 1 and 100")
        }
        guard Self.panicThresholdRange.contains(panicThresholdPercentage) else {
            throw fail(
                "panicThresholdPercentage",
                "invalid panic-threshold-percentage \(panicThresholdPercentage): must be between 110 and 1000")
        }
        guard scaleDownDelay <= .seconds(3600) else {
            throw fail("scaleDownDelay", "invalid scale-down-delay \(scaleDownDelay): must be at most 1h")
        }
        guard scaleToZeroGrace <= .seconds(3600) else {
            throw fail("scaleToZeroGrace", "invalid scale-to-zero-grace \(scaleToZeroGrace): must be at most 1h")
        }
        guard freezeAfter <= .seconds(3600) else {
            throw fail("freezeAfter", "invalid freeze-after \(freezeAfter): must be at most 1h")
        }
        guard frozenRetention <= .seconds(24 * 3600) else {
            throw fail("frozenRetention", "invalid frozen-retention \(frozenRetention): must be at most 24h")
        }
    }
}

/// How long the gateway lets a request run; 0 is no limit (Knative's `timeoutSeconds`,
/// `responseStartTimeoutSeconds` and `idleTimeoutSeconds`).
public struct RequestTimeouts: Codable, Sendable, Hashable {
    /// The whole request, from its head arriving to the response's end.
    public var request: TimeSpan = Self.defaultRequest
    /// From the head arriving (including time queued for an instance) to the response head.
    public var responseStart: TimeSpan = Self.defaultResponseStart
    /// Longest gap between bytes in either direction once forwarded.
    public var idle: TimeSpan = Self.defaultIdle

    /// Knative default: 300 s (`revision-timeout-seconds`, config-defaults).
    public static let defaultRequest = TimeSpan.seconds(300)
    /// Knative default: the request timeout, 300 s (`revision-response-start-timeout-seconds`,
    /// config-defaults, falls back to `revision-timeout-seconds`).
    public static let defaultResponseStart = TimeSpan.seconds(300)
    /// Knative default: 0 s, no limit (`revision-idle-timeout-seconds`, config-defaults).
    public static let defaultIdle = TimeSpan.seconds(0)

    public static let maximum = TimeSpan.seconds(3600)

    public init() {}

    enum CodingKeys: String, CodingKey { case request, responseStart, idle }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RequestTimeouts()
        request = try c.decodeIfPresent(TimeSpan.self, forKey: .request) ?? d.request
        responseStart = try c.decodeIfPresent(TimeSpan.self, forKey: .responseStart) ?? d.responseStart
        idle = try c.decodeIfPresent(TimeSpan.self, forKey: .idle) ?? d.idle
    }

    public func validate() throws(ModelError) {
        for (name, value) in [("timeout", request), ("response-start-timeout", responseStart), ("idle-timeout", idle)]
        where value > Self.maximum {
            throw ModelError(.invalidValue, field: name, "invalid \(name) \(value): must be at most 1h (0 for none)")
        }
    }
}
