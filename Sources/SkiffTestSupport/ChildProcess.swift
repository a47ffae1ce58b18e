import Foundation
import Subprocess
import SystemPackage

/// Runs `work`, which blocks (reads a socket, say), on a thread of its own and returns its
/// result.
///
/// Swift concurrency has one thread per core, two on the CI machines, shared by every test
/// running in parallel. A test that blocks one of them stalls everyone else's tasks, and a
/// poll elsewhere misses the short-lived state it watches for.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}

/// What a finished process left: its exit status and what it printed on each stream.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    /// stdout, then stderr: for tools whose diagnostics may go to either.
    public var combined: String { stdout + stderr }
}

/// Runs programs for tests through swift-subprocess, as the runtime runs its helpers.
///
/// Not Foundation's `Process`: run from many tasks at once on Linux it can hand one
/// process's pipe to another, and a `skiff` command then prints into nothing and exits 0.
/// Nor does anything here block Swift concurrency's threads while a program runs.
public enum ChildProcess {
    /// Everything a test tool may print; more is an error.
    static let outputLimit = 64 << 20

    /// Runs `executable` (a path) to completion with `arguments`; `environment` nil inherits
    /// the test's, `input` nil gives it no standard input.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil
    ) async throws -> ProcessOutput {
        var env: Environment = .inherit
        if let environment {
            // Raw entries go to strdup: they need their NUL terminator.
            env = .custom(environment.map { Array("\($0.key)=\($0.value)".utf8) + [0] })
        }
        let result =
            if let input {
                try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments), environment: env,
                    input: .string(input), output: .string(limit: outputLimit), error: .string(limit: outputLimit))
            } else {
                try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments), environment: env,
                    output: .string(limit: outputLimit), error: .string(limit: outputLimit))
            }
        return ProcessOutput(
            status: code(result.terminationStatus), stdout: result.standardOutput, stderr: result.standardError)
    }

    /// Runs `executable` while `work` runs, then interrupts it with SIGINT, as a person stops
    /// a load generator with Ctrl-C, and returns what it printed. For programs such as wrk
    /// that report when interrupted: the program lasts exactly as long as the work, however
    /// slow the machine. If `work` throws, the program is killed and the error rethrown.
    public static func run(
        _ executable: String, _ arguments: [String], interruptedAfter work: () async throws -> Void
    ) async throws -> ProcessOutput {
        let result = try await Subprocess.run(
            .path(FilePath(executable)), arguments: Arguments(arguments), input: .none,
            output: .string(limit: outputLimit), error: .string(limit: outputLimit)
        ) { execution in
            do {
                try await work()
            } catch {
                try? execution.send(signal: .kill)
                throw error
            }
            try execution.send(signal: .interrupt)
        }
        return ProcessOutput(
            status: code(result.terminationStatus), stdout: result.standardOutput, stderr: result.standardError)
    }

    private static func code(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }
}
