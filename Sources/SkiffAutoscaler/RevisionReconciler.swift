public import SkiffModel

/// Brings one revision's instances to the count its ``RevisionScaler`` wants: which to
/// start, which to stop and in what order, and how long the last ones stay frozen after a
/// scale to zero. Pure code over the caller's clock; the controller performs its actions on
/// real containers and `skiff simulate` on modelled ones, so both follow the same rules:
///
/// - Too few: start the missing instances, as many as fit in memory (`fitting`).
/// - Too many: stop the surplus, not-serving (starting, unready) before serving, then the
///   least busy, then the newest. A stopped instance drains its requests first.
/// - At zero with freezing on, the serving instances are retained (frozen, as idle ones
///   are, and still routed) for the frozen retention, unless memory is short; the next
///   decision that wants instances keeps them. Instances not serving yet are stopped.
public struct RevisionReconciler: Sendable {
    /// What the reconciler needs to know of one instance.
    public struct Instance<ID: Hashable & Sendable>: Sendable, Hashable {
        public var id: ID
        /// Ready or frozen: it counts towards the desired instances and takes requests.
        public var serving: Bool
        /// Requests on it now.
        public var inFlight: Int
        /// When it started, on any clock the caller keeps to; nil for one not started yet
        /// (the newest of all).
        public var startedAt: Duration?

        public init(id: ID, serving: Bool, inFlight: Int = 0, startedAt: Duration? = nil) {
            self.id = id
            self.serving = serving
            self.inFlight = inFlight
            self.startedAt = startedAt
        }
    }

    /// What to do now.
    public struct Actions<ID: Hashable & Sendable>: Sendable, Hashable {
        /// Instances to start.
        public var start = 0
        /// Instances to stop, in the order they were ranked (the first is the least needed).
        public var stop: [ID] = []
        /// Fewer instances start than wanted because memory is short.
        public var limitedByMemory = false

        public init(start: Int = 0, stop: [ID] = [], limitedByMemory: Bool = false) {
            self.start = start
            self.stop = stop
            self.limitedByMemory = limitedByMemory
        }
    }

    /// How long serving instances are kept after a scale to zero; zero when the revision
    /// never freezes (there is nothing to keep then: an idle instance keeps running).
    public let retention: Duration
    /// The end of the retention in progress, if any.
    public private(set) var retainedUntil: Duration?

    public init(spec: ScalingSpec) {
        retention = spec.freezeAfter.duration > .zero ? spec.frozenRetention.duration : .zero
    }

    /// Decides for the instances that are not being stopped already.
    ///
    /// - Parameters:
    ///   - desired: the scaler's instance count.
    ///   - underPressure: memory is short: retained instances go now.
    ///   - fitting: how many of n new instances fit in memory.
    public mutating func reconcile<ID>(
        desired: Int, instances: [Instance<ID>], now: Duration, underPressure: Bool = false,
        fitting: (Int) -> Int = { $0 }
    ) -> Actions<ID> {
        var want = desired
        if want == 0, !instances.isEmpty, retention > .zero {
            let until = retainedUntil ?? now + retention
            retainedUntil = until
            if now < until, !underPressure { want = instances.count { $0.serving } }
        } else {
            retainedUntil = nil
        }
        var actions = Actions<ID>()
        if instances.count < want {
            let missing = want - instances.count
            actions.start = min(missing, max(0, fitting(missing)))
            actions.limitedByMemory = actions.start < missing
        } else if instances.count > want {
            actions.stop = Self.ranked(instances).prefix(instances.count - want).map(\.id)
        }
        return actions
    }

    /// The order in which instances are stopped: not serving before serving, idle before
    /// busy, newest before oldest (of two started at once, the later in `instances`).
    public static func ranked<ID>(_ instances: [Instance<ID>]) -> [Instance<ID>] {
        instances.enumerated().sorted { first, second in
            let (a, b) = (first.element, second.element)
            if a.serving != b.serving { return !a.serving }
            if a.inFlight != b.inFlight { return a.inFlight < b.inFlight }
            if a.startedAt != b.startedAt {
                guard let x = a.startedAt else { return true }
                guard let y = b.startedAt else { return false }
                return x > y
            }
            return first.offset > second.offset
        }.map(\.element)
    }
}
