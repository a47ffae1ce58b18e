/// Polls `condition` until it holds or the deadline passes; the failure names what was awaited.
///
/// For tests of real processes (end to end), which have no clock to inject; unit tests tick a
/// ``ManualClock`` instead.
public func eventually(
    _ what: String, within timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: interval)
    }
    throw HarnessError("timed out after \(timeout) waiting for: \(what)")
}
