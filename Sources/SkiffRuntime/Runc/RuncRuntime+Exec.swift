import Foundation
import Subprocess

extension RuncRuntime {
    /// `runc exec --process FILE`, where FILE is the instance's own process (from its
    /// config.json) with `args` replaced: the probe runs with the same user, environment,
    /// capabilities and no_new_privileges as the application, never with more.
    ///
    /// The timeout is enforced by coreutils' `timeout`, which kills runc's exec; the probe
    /// command itself dies with the instance's cgroup at the latest.
    public func exec(instanceID: String, command: [String], timeout: Duration) async throws(RuntimeError) -> ExecOutcome {
        try Self.validate(instanceID: instanceID)
        guard !command.isEmpty else { throw RuntimeError(.invalidSpec, "exec needs a command") }
        let bundle = bundlePath(for: instanceID)
        let processFile = "\(bundle)/exec-\(UUID().uuidString).json"
        do {
            let config = try Data(contentsOf: URL(fileURLWithPath: "\(bundle)/config.json"))
            guard let root = try JSONSerialization.jsonObject(with: config) as? [String: Any],
                var process = root["process"] as? [String: Any]
            else { throw RuntimeError(.invalidSpec, "\(bundle)/config.json has no process") }
            process["args"] = command
            process["terminal"] = false
            let data = try JSONSerialization.data(withJSONObject: process)
            guard FileManager.default.createFile(atPath: processFile, contents: data, attributes: [.posixPermissions: 0o600])
            else { throw RuntimeError(.io, "cannot write \(processFile)") }
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError(.io, "cannot prepare exec for instance \(instanceID)", cause: error)
        }
        defer { unlink(processFile) }
        let seconds = max(1, Int((timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000 + 999) / 1000))
        let output = try await HelperCommand.run(
            "timeout",
            ["--signal=KILL", "\(seconds)s", configuration.runtimeBinary] + runcGlobalArguments
                + ["exec", "--process", processFile, containerID(for: instanceID)])
        // timeout(1) exits 137 when it had to kill (128 + SIGKILL).
        if case .exited(let code) = output.status {
            if code == 137 { return .timedOut }
            return .exited(code, output: (output.standardOutput + output.standardError).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return .timedOut
    }
}
