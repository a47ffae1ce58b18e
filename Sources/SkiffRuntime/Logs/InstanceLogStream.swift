import ServiceLifecycle
import Synchronization

/// The output of a set of instances as `skiff logs` shows it: every line prefixed with the
/// instance it came from (`ID | `), the instances in the order they were first seen, each
/// started at its last `tail` lines. With `follow`, new lines and new instances keep coming,
/// polled every `pollInterval`, as `tail -f` does.
public struct InstanceLogStream: Sendable {
    /// How often a follower looks for new output and new instances.
    public static let defaultPollInterval: Duration = .milliseconds(200)

    /// Where the runtime writes an instance's output (`RuncRuntime.logPath(for:)`).
    let logFile: @Sendable (String) -> String
    /// The instances seen on the first pass start at their last `tail` lines (nil: all);
    /// instances that appear later are shown from their first line.
    public var tail: Int?
    /// Whether to keep streaming after the first pass.
    public var follow: Bool
    public var pollInterval: Duration

    public init(
        logFile: @escaping @Sendable (String) -> String, tail: Int?, follow: Bool,
        pollInterval: Duration = Self.defaultPollInterval
    ) {
        self.logFile = logFile
        self.tail = tail
        self.follow = follow
        self.pollInterval = pollInterval
    }

    /// Writes the instances' output to `write`: one pass, or with `follow` until the task is
    /// cancelled (the client went away: throws `CancellationError`) or the server begins a
    /// graceful shutdown (returns; an idle follower would otherwise hold shutdown open).
    ///
    /// - Parameter instances: the instances to show, asked before every pass (`true` on the
    ///   first); an instance once shown stays in the stream.
    public func run(
        instances: (_ firstPass: Bool) async -> [String], write: (String) async throws -> Void
    ) async throws {
        let stopping = StopFlag()
        try await withGracefulShutdownHandler {
            try await run(instances: instances, write: write, clock: ContinuousClock(), stopping: { stopping.isSet })
        } onGracefulShutdown: {
            stopping.set()
        }
    }

    /// ``run(instances:write:)`` over an injected clock and stop condition, asked after
    /// every pass.
    func run<C: Clock<Duration>>(
        instances: (_ firstPass: Bool) async -> [String], write: (String) async throws -> Void, clock: C,
        stopping: () -> Bool
    ) async throws {
        var followers: [LogFollower] = []
        var seen: Set<String> = []
        var first = true
        while true {
            for id in await instances(first) where !seen.contains(id) {
                seen.insert(id)
                followers.append(LogFollower(path: logFile(id), prefix: "\(id) | ", tail: first ? tail : nil))
            }
            first = false
            // File reads block: one thread of their own per pass, not the cooperative pool's.
            let (chunks, advanced) = await onOwnThread { [followers] in
                var followers = followers
                let chunks = followers.indices.map { followers[$0].readNewLines() }
                return (chunks, followers)
            }
            followers = advanced
            for chunk in chunks where !chunk.isEmpty { try await write(chunk) }
            guard follow, !Task.isCancelled, !stopping() else { break }
            try await clock.sleep(for: pollInterval)
        }
    }
}

/// Set once, from the shutdown path, read by a stream between polls.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
