import SkiffController
import Testing

@Suite struct RestartBackoffTests {
    @Test func doublesFromOneSecondToFiveMinutes() {
        var backoff = RestartBackoff()
        let delays = (0..<12).map { _ in backoff.delay(afterRunning: .seconds(1)) }
        #expect(Array(delays.prefix(9)) == [1, 2, 4, 8, 16, 32, 64, 128, 256].map { Duration.seconds($0) })
        #expect(delays.suffix(3).allSatisfy { $0 == .seconds(300) })
    }

    @Test func resetsAfterTenMinutesHealthy() {
        var backoff = RestartBackoff()
        for _ in 0..<5 { _ = backoff.delay(afterRunning: .seconds(1)) }
        #expect(backoff.delay(afterRunning: .seconds(600)) == .seconds(1))
        #expect(backoff.delay(afterRunning: .seconds(599)) == .seconds(2))
    }
}
