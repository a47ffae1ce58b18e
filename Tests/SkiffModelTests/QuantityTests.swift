import SkiffModel
import Testing

@Suite struct QuantityTests {
    @Test(arguments: [
        ("128Mi", Int64(128 << 20), "128Mi"), ("1Gi", Int64(1 << 30), "1Gi"), ("512M", Int64(512_000_000), "512M"),
        ("1.5Gi", Int64(3 << 29), "1536Mi"), ("4194304", Int64(4 << 20), "4Mi"), ("5Mi", Int64(5 << 20), "5Mi"),
    ])
    func parsesMemory(text: String, bytes: Int64, canonical: String) throws {
        let quantity = try MemoryQuantity(text)
        #expect(quantity.bytes == bytes)
        #expect(quantity.description == canonical)
    }

    @Test(arguments: ["", "Mi", "12Q", "-1Mi", "1..5Gi", "abc", "1Ki", "0", " 128Mi"])
    func rejectsInvalidMemory(text: String) {
        #expect(throws: ModelError.self) { try MemoryQuantity(text) }
    }

    @Test(arguments: [
        ("0.5", 500, "500m"), ("500m", 500, "500m"), ("2", 2000, "2"), ("1.25", 1250, "1250m"), ("10m", 10, "10m"),
    ])
    func parsesCPU(text: String, millis: Int, canonical: String) throws {
        let cpu = try CPUQuantity(text)
        #expect(cpu.millis == millis)
        #expect(cpu.description == canonical)
    }

    @Test(arguments: ["", "m", "0.5m", "-1", "1e3", "half", "5m", "0"])
    func rejectsInvalidCPU(text: String) {
        #expect(throws: ModelError.self) { try CPUQuantity(text) }
    }

    @Test func memoryErrorNamesTheValueAndExamples() {
        do {
            _ = try MemoryQuantity("12Q")
            Issue.record("accepted 12Q")
        } catch {
            #expect(error.message.contains("\"12Q\""))
            #expect(error.message.contains("128Mi"))
        }
    }
}

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("1h30m", .seconds(5400)), ("1.5s", .milliseconds(1500)), ("10", .seconds(10)),
    ])
    func parses(text: String, duration: Duration) throws {
        #expect(try DurationText.parse(text) == duration)
    }

    @Test(arguments: ["", "5x", "ms", "1h-", "-5s", "5 s"])
    func rejects(text: String) {
        #expect(throws: ModelError.self) { try DurationText.parse(text) }
    }

    @Test(arguments: [
        (Duration.milliseconds(250), "250ms"), (.seconds(30), "30s"), (.seconds(300), "5m"), (.seconds(3600), "1h"),
        (.seconds(5400), "1h30m"), (.zero, "0s"), (.milliseconds(1500), "1.5s"),
    ])
    func formats(duration: Duration, text: String) {
        #expect(DurationText.format(duration) == text)
    }
}
