import Foundation

/// One container as `runc list --format json` reports it.
public struct RuncContainer: Decodable, Sendable {
    public var id: String
    public var pid: Int
    public var status: String
    public var bundle: String
}

public enum RuncList {
    /// The host's runc containers (in runc's default state directory).
    ///
    /// runc fails when a container disappears while it reads the state directory, which
    /// happens all the time while other tests start and stop instances; so it is asked again,
    /// for up to 10 s. An empty list is then a fact, not a failure read as one.
    public static func containers() async throws -> [RuncContainer] {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let result = try await ChildProcess.run("/usr/bin/env", ["runc", "list", "--format", "json"])
            if result.status == 0 {
                // runc prints `null` when there are none.
                let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                if text == "null" || text.isEmpty { return [] }
                return try JSONDecoder().decode([RuncContainer].self, from: Data(text.utf8))
            }
            guard ContinuousClock.now < deadline else {
                throw RuncListError(message: "runc list kept failing: status \(result.status): \(result.combined)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

public struct RuncListError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
