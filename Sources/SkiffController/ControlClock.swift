/// The controller's time, taken from whichever `Clock<Duration>` the server gives it: the real
/// `ContinuousClock` when serving, a manual clock in tests, so that every decision that reads
/// the time and every wait between polls can be driven tick by tick without sleeping.
///
/// Time is a `Duration` since the clock was made: the form the deciders (`RevisionScaler`,
/// `RevisionReconciler`, `RolloutMachine`) take as `now`, so nothing converts instants.
public struct ControlClock: Sendable {
    private let elapsed: @Sendable () -> Duration
    private let sleeper: @Sendable (Duration) async throws -> Void

    /// Starts at zero now, and follows `clock` from here on.
    public init<C: Clock<Duration>>(_ clock: C) {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        sleeper = { deadline in try await clock.sleep(until: start.advanced(by: deadline), tolerance: nil) }
    }

    /// How long since the clock was made.
    public var now: Duration { elapsed() }

    /// Suspends until ``now`` reaches `deadline` (returns at once if it has); throws
    /// `CancellationError` when the task is cancelled first.
    public func sleep(until deadline: Duration) async throws { try await sleeper(deadline) }

    /// Suspends for `duration` from ``now``.
    public func sleep(for duration: Duration) async throws { try await sleep(until: now + duration) }
}
