public import SkiffModel

/// One revision's scaling policy: the KPA (``Autoscaler``) plus what surrounds it in the
/// server and in `skiff simulate` alike, so both run the same code:
///
/// - the revision starts at its initial instances and is not scaled below them until that
///   many were ready once (Knative's initial scale);
/// - a request that finds no instance able to take it wakes the revision at once, without
///   waiting for the next tick (the activator's poke);
/// - the decision is taken every ``tickInterval`` from per-second concurrency samples.
///
/// Times are offsets on the caller's clock; nothing here reads a clock or sleeps.
public struct RevisionScaler: Sendable {
    /// How often ``tick(now:readyInstances:)`` runs (Knative's tick interval).
    public static let tickInterval: Duration = .seconds(2)
    /// How often the concurrency is sampled within each one-second bucket.
    public static let sampleInterval: Duration = .milliseconds(100)

    public private(set) var autoscaler: Autoscaler
    public let initialInstances: Int
    /// The instance count the controller should run.
    public private(set) var desired: Int
    public private(set) var lastDecision: Autoscaler.Decision?
    private var reachedInitialScale: Bool

    public init(spec: ScalingSpec, now: Duration) {
        self.init(settings: ScalingSettings(spec), initialInstances: spec.initialInstances, now: now)
    }

    public init(settings: ScalingSettings, initialInstances: Int, now: Duration) {
        var autoscaler = Autoscaler(settings: settings)
        // The grace before scaling the initial instances to zero counts from the revision's
        // creation; a revision created at zero stays there until a request wakes it.
        if initialInstances > 0 || settings.minInstances > 0 { autoscaler.noteDemand(at: now) }
        self.autoscaler = autoscaler
        // The minimum is part of the initial scale: a revision is ready once both are met.
        let initialInstances = max(initialInstances, settings.minInstances)
        self.initialInstances = initialInstances
        self.reachedInitialScale = initialInstances == 0
        var desired = initialInstances
        if settings.maxInstances > 0 { desired = min(desired, settings.maxInstances) }
        self.desired = desired
    }

    public var settings: ScalingSettings { autoscaler.settings }

    /// Whether the revision reached its initial instances once (or needs none): from then on
    /// it is ready to take traffic even at zero instances, because it can be woken.
    public var isReady: Bool { reachedInitialScale }

    /// The revision's mean in-flight requests over the last second, queued ones included.
    public mutating func record(concurrency: Double, at now: Duration) {
        autoscaler.record(concurrency: concurrency, at: now)
    }

    /// A request is waiting and no instance can take it. Returns whether `desired` rose, in
    /// which case the caller should start instances now rather than at the next tick.
    public mutating func demand(at now: Duration) -> Bool {
        autoscaler.noteDemand(at: now)
        guard desired == 0 else { return false }
        desired = 1
        return true
    }

    /// Takes over `instances` that were already serving (a restarted server adopted them): the
    /// revision is at least that large and ready, and its last activity is now, so nothing
    /// scales down before the autoscaler has seen the load again for a tick.
    public mutating func adopt(instances: Int, at now: Duration) {
        guard instances > 0 else { return }
        autoscaler.noteDemand(at: now)
        reachedInitialScale = true
        var adopted = max(desired, instances)
        if settings.maxInstances > 0 { adopted = min(adopted, settings.maxInstances) }
        desired = adopted
    }

    /// Notes how many instances are ready between ticks, so the revision counts as ready
    /// (and takes traffic) as soon as its initial instances are, not at the next tick.
    public mutating func observe(readyInstances: Int) {
        if readyInstances >= initialInstances { reachedInitialScale = true }
    }

    /// Takes the periodic decision; `readyInstances` counts ready and frozen instances.
    @discardableResult
    public mutating func tick(now: Duration, readyInstances: Int) -> Autoscaler.Decision {
        if readyInstances >= initialInstances { reachedInitialScale = true }
        var decision = autoscaler.decide(now: now, readyInstances: readyInstances)
        if !reachedInitialScale {
            decision.desired = max(decision.desired, initialInstances)
            if settings.maxInstances > 0 { decision.desired = min(decision.desired, settings.maxInstances) }
        }
        desired = decision.desired
        lastDecision = decision
        return decision
    }
}
