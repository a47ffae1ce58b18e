import SkiffTestSupport
import Testing

/// The fake clock the unit tests tick: sleepers wake when, and only when, the test moves time
/// past their deadline.
@Suite struct ManualClockTests {
    @Test func aSleeperWakesOnlyWhenTimeReachesItsDeadline() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(5)) }
        await clock.waitForSleepers()
        clock.advance(by: .seconds(4))
        #expect(clock.sleepers == 1)
        clock.advance(by: .seconds(1))
        #expect(clock.sleepers == 0)
        try await sleeper.value
        #expect(clock.now == ManualClock.Instant(offset: .seconds(5)))
        #expect(clock.sleeps == [.seconds(5)])
    }

    @Test func aDeadlineAlreadyPassedReturnsAtOnce() async throws {
        let clock = ManualClock(start: ManualClock.Instant(offset: .seconds(10)))
        try await clock.sleep(until: ManualClock.Instant(offset: .seconds(3)))
        try await clock.sleep(for: .zero)
        #expect(clock.sleeps == [.seconds(-7), .zero])
        #expect(clock.sleepers == 0)
    }

    @Test func advancingToAnEarlierInstantLeavesTimeWhereItIs() {
        let clock = ManualClock()
        clock.advance(by: .seconds(2))
        clock.advance(to: ManualClock.Instant(offset: .seconds(1)))
        #expect(clock.now.offset == .seconds(2))
        clock.advance(to: ManualClock.Instant(offset: .seconds(3)))
        #expect(clock.now.offset == .seconds(3))
    }

    @Test func aCancelledSleeperThrowsAndLeavesTheClock() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(1)) }
        await clock.waitForSleepers()
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleepers == 0)
    }

    @Test func waitingForSleepersEndsWithItsTask() async {
        let clock = ManualClock()
        let waiter = Task { await clock.waitForSleepers(2) }
        waiter.cancel()
        await waiter.value
        #expect(clock.sleepers == 0)
    }

    @Test func waitingForSeveralSleepersReturnsOnceThatManySleep() async throws {
        let clock = ManualClock()
        let first = Task { try await clock.sleep(for: .seconds(1)) }
        let second = Task { try await clock.sleep(for: .seconds(2)) }
        await clock.waitForSleepers(2)
        #expect(clock.sleepers == 2)
        clock.advance(by: .seconds(2))
        try await first.value
        try await second.value
    }
}
