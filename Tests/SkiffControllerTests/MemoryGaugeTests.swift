import SkiffController
import Testing

@Suite struct MemoryGaugeTests {
    static func gauge(available: Int64, total: Int64 = 1000 << 20) -> MemoryGauge {
        MemoryGauge { MemoryGauge.Reading(available: available, total: total) }
    }

    @Test func pressureIsLessThanTheReserveAvailable() {
        #expect(Self.gauge(available: 99 << 20).isUnderPressure(reserve: 0.10))
        #expect(!Self.gauge(available: 101 << 20).isUnderPressure(reserve: 0.10))
    }

    @Test func startsOnlyTheInstancesThatFitAboveTheReserve() {
        // 400 MiB available, 50 MiB kept: 350 MiB for 128 MiB instances → 2.
        #expect(Self.gauge(available: 400 << 20).instancesThatFit(5, each: 128 << 20, reserve: 0.05) == 2)
        // Unlimited instances are budgeted at 64 MiB each → 5 of 10.
        #expect(Self.gauge(available: 400 << 20).instancesThatFit(10, each: nil, reserve: 0.05) == 5)
        #expect(Self.gauge(available: 40 << 20).instancesThatFit(3, each: 8 << 20, reserve: 0.05) == 0)
    }

    @Test func unreadableMemoryLimitsNothing() {
        #expect(MemoryGauge { nil }.instancesThatFit(7, each: 1 << 40, reserve: 0.5) == 7)
        #expect(!MemoryGauge { nil }.isUnderPressure(reserve: 0.5))
    }

    @Test func readsThisMachine() throws {
        let reading = try #require(MemoryGauge.procMeminfo())
        #expect(reading.total > 0)
        #expect(reading.available > 0 && reading.available <= reading.total)
    }
}
