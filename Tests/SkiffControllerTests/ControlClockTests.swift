import SkiffController
import SkiffTestSupport
import Testing

/// The controller's time follows the clock it is given, from zero when it was made.
@Suite struct ControlClockTests {
    @Test func timeIsTheDurationSinceTheClockWasMade() {
        let manual = ManualClock(start: ManualClock.Instant(offset: .seconds(100)))
        let clock = ControlClock(manual)
        #expect(clock.now == .zero)
        manual.advance(by: .milliseconds(250))
        #expect(clock.now == .milliseconds(250))
    }

    @Test func aSleepEndsWhenTheClockReachesItsDeadline() async throws {
        let manual = ManualClock(start: ManualClock.Instant(offset: .seconds(100)))
        let clock = ControlClock(manual)
        let sleeper = Task { try await clock.sleep(until: .seconds(2)) }
        await manual.waitForSleepers()
        manual.advance(by: .seconds(1))
        #expect(manual.sleepers == 1)
        manual.advance(by: .seconds(1))
        try await sleeper.value
        try await clock.sleep(for: .zero)
        #expect(manual.sleeps == [.seconds(2), .zero])
    }
}
