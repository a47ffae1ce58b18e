import Foundation
import SkiffTestSupport
import Testing

@testable import SkiffRuntime

/// `skiff logs` as the runtime streams it: prefixed lines, instances in the order first seen,
/// and with `follow` a pass per tick of an injected clock.
@Suite struct InstanceLogStreamTests {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }

    init() throws {
        temporary = try TemporaryDirectory()
    }

    func path(_ id: String) -> String { "\(directory)/\(id).log" }

    func append(_ id: String, _ text: String) throws {
        if let handle = FileHandle(forWritingAtPath: path(id)) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        } else {
            try text.write(toFile: path(id), atomically: false, encoding: .utf8)
        }
    }

    func stream(tail: Int?, follow: Bool) -> InstanceLogStream {
        let directory = self.directory
        return InstanceLogStream(
            logFile: { "\(directory)/\($0).log" }, tail: tail, follow: follow, pollInterval: .seconds(1))
    }

    @Test func withoutFollowOnePassShowsTheTailOfEveryInstanceInOrder() async throws {
        defer { temporary.remove() }
        try append("web-2", "x\ny\n")
        try append("web-1", "a\nb\nc\n")
        let clock = ManualClock()
        var output = ""
        try await stream(tail: 2, follow: false).run(
            instances: { _ in ["web-2", "web-1", "web-3"] }, write: { output += $0 }, clock: clock, stopping: { false })
        #expect(output == "web-2 | x\nweb-2 | y\nweb-1 | b\nweb-1 | c\n")
        #expect(clock.sleeps == [])
    }

    @Test func followingShowsNewLinesAndNewInstancesFromTheirFirstLineEachTick() async throws {
        defer { temporary.remove() }
        try append("web-1", "a\nb\n")
        let clock = ManualClock()
        let stream = stream(tail: 1, follow: true)
        var output: [String] = []
        var pass = 0
        try await withThrowingTaskGroup(of: Void.self) { ticks in
            // Each time the follower waits, its poll interval passes: one tick.
            ticks.addTask {
                while !Task.isCancelled {
                    await clock.waitForSleepers()
                    clock.advance(by: .seconds(1))
                }
            }
            defer { ticks.cancelAll() }
            try await stream.run(
                instances: { first in
                    pass += 1
                    #expect(first == (pass == 1))
                    switch pass {
                    case 1: return ["web-1"]
                    case 2:
                        // A line in progress waits for its newline; a new instance is shown whole.
                        try? append("web-1", "c\npart")
                        try? append("web-2", "x\ny\n")
                        return ["web-2"]
                    default:
                        try? append("web-1", "ial\n")
                        return []
                    }
                },
                write: { output.append($0) }, clock: clock, stopping: { pass == 3 })
        }
        #expect(output == ["web-1 | b\n", "web-1 | c\n", "web-2 | x\nweb-2 | y\n", "web-1 | partial\n"])
        #expect(clock.sleeps == [.seconds(1), .seconds(1)])
    }

    @Test func aCancelledFollowerEndsAfterThePassInProgress() async throws {
        defer { temporary.remove() }
        try append("web-1", "a\n")
        let clock = ManualClock()
        let stream = stream(tail: nil, follow: true)
        // Its own task, cancelled from within its first pass: the client went away.
        let output = try await Task {
            var output = ""
            try await stream.run(
                instances: { _ in
                    withUnsafeCurrentTask { $0?.cancel() }
                    return ["web-1"]
                },
                write: { output += $0 }, clock: clock, stopping: { false })
            return output
        }.value
        #expect(output == "web-1 | a\n")
        #expect(clock.sleeps == [])
    }
}
