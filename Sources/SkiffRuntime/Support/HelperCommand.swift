import Foundation
import Subprocess
import SystemPackage

/// Runs a helper program (runc, a CNI plugin, iptables) to completion through
/// swift-subprocess and collects what it printed.
struct HelperCommand {
    struct Output {
        var status: TerminationStatus
        var standardOutput: String
        var standardError: String

        var succeeded: Bool { status.isSuccess }

        /// stderr, else stdout, trimmed: what a failure message should quote.
        var diagnostic: String {
            let text = standardError.isEmpty ? standardOutput : standardError
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    static let outputLimit = 1 << 20

    /// Runs `executable` (a path, or a name looked up in PATH) with `arguments`.
    /// `environment` nil inherits the server's environment.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil
    ) async throws(RuntimeError) -> Output {
        let exe: Executable = executable.contains("/") ? .path(FilePath(executable)) : .name(executable)
        var env: Environment = .inherit
        if let environment {
            // Raw entries go to strdup: they need their NUL terminator.
            env = .custom(environment.map { Array("\($0.key)=\($0.value)".utf8) + [0] })
        }
        do {
            if let input {
                let result = try await Subprocess.run(
                    exe, arguments: Arguments(arguments), environment: env, input: .string(input),
                    output: .string(limit: outputLimit), error: .string(limit: outputLimit))
                return Output(
                    status: result.terminationStatus, standardOutput: result.standardOutput,
                    standardError: result.standardError)
            }
            let result = try await Subprocess.run(
                exe, arguments: Arguments(arguments), environment: env, output: .string(limit: outputLimit),
                error: .string(limit: outputLimit))
            return Output(
                status: result.terminationStatus, standardOutput: result.standardOutput,
                standardError: result.standardError)
        } catch {
            throw RuntimeError(.command, "cannot run \(executable) \(arguments.joined(separator: " "))", cause: error)
        }
    }
}
