import Synchronization

/// A clock that moves only when the test moves it, for code that takes an injected
/// `Clock<Duration>`: decisions are tested tick by tick, and nothing sleeps for real.
///
/// A task sleeping on it stays suspended until ``advance(by:)`` (or ``advance(to:)``) reaches
/// its deadline; ``waitForSleepers(_:)`` lets the test wait, without sleeping, until the code
/// under test is suspended on the clock before moving it.
///
/// ```swift
/// let clock = ManualClock()
/// async let done: Void = stream.run(…, clock: clock, …)
/// await clock.waitForSleepers()   // the first pass is done, the stream waits
/// clock.advance(by: .seconds(1))  // the next pass runs
/// ```
public final class ManualClock: Clock, Sendable {
    /// A point in the clock's time: how long after the clock's start it is.
    public struct Instant: InstantProtocol, Sendable {
        /// Time since the clock started at zero.
        public var offset: Duration

        public init(offset: Duration) {
            self.offset = offset
        }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var id: UInt64
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Instant
        var sleepers: [Sleeper] = []
        var sleeps: [Duration] = []
        /// Sleeps and waits cancelled before they were suspended.
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
        var sleeperWaiters: [(id: UInt64, count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        /// Takes out the waiters whose count of sleepers is reached, to be resumed.
        mutating func satisfiedWaiters() -> [CheckedContinuation<Void, Never>] {
            let count = sleepers.count
            let satisfied = sleeperWaiters.filter { $0.count <= count }.map(\.continuation)
            sleeperWaiters.removeAll { $0.count <= count }
            return satisfied
        }

        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }
    }

    private let state: Mutex<State>

    /// A clock whose time is `start` (zero by default) until it is advanced.
    public init(start: Instant = Instant(offset: .zero)) {
        state = Mutex(State(now: start))
    }

    public var now: Instant { state.withLock { $0.now } }

    public var minimumResolution: Duration { .zero }

    /// How long each sleep asked to sleep, measured from the time it began, in the order
    /// they began (a deadline already passed counts as zero or less).
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }

    /// How many tasks are suspended on the clock now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// Suspends until `deadline`: returns once the clock is advanced to it (at once if it has
    /// passed); throws `CancellationError` if the task is cancelled first.
    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id: UInt64 = state.withLock { state in
            state.sleeps.append(state.now.duration(to: deadline))
            return state.makeID()
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome {
                    case wake, cancel
                    case suspend([CheckedContinuation<Void, Never>])
                }
                let outcome: Outcome = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .cancel }
                    if deadline <= state.now { return .wake }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return .suspend(state.satisfiedWaiters())
                }
                switch outcome {
                case .wake: continuation.resume()
                case .cancel: continuation.resume(throwing: CancellationError())
                case .suspend(let waiters): for waiter in waiters { waiter.resume() }
                }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { state in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else {
                    // Not suspended yet (or already woken): the continuation sees this.
                    state.cancelled.insert(id)
                    return nil
                }
                return state.sleepers.remove(at: index)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        // A sleep that woke normally leaves no mark for a later cancellation to find.
        state.withLock { _ = $0.cancelled.remove(id) }
    }

    /// Moves time forward by `duration` and wakes, earliest deadline first, every sleeper
    /// whose deadline it reaches. The woken tasks run after this returns.
    public func advance(by duration: Duration) {
        move { $0.advanced(by: duration) }
    }

    /// Moves time forward to `instant` (never back) and wakes the sleepers it reaches.
    public func advance(to instant: Instant) {
        move { max($0, instant) }
    }

    private func move(_ target: (Instant) -> Instant) {
        let woken: [Sleeper] = state.withLock { state in
            state.now = target(state.now)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Returns once at least `count` tasks are suspended on the clock: the code under test
    /// has reached its next wait, and moving the clock now is seen by it. Returns early if
    /// the task is cancelled (a driver loop ends with its test).
    public func waitForSleepers(_ count: Int = 1) async {
        let id = state.withLock { $0.makeID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready: Bool = state.withLock { state in
                    if state.cancelled.remove(id) != nil || state.sleepers.count >= count { return true }
                    state.sleeperWaiters.append((id, count, continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
                guard let index = state.sleeperWaiters.firstIndex(where: { $0.id == id }) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return state.sleeperWaiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
        state.withLock { _ = $0.cancelled.remove(id) }
    }
}
