import Foundation
import Subprocess

extension RuncRuntime {
    /// `runc exec --process FILE`, where FILE is the instance's own process (from its
    /// config.json) with `args` replaced: the probe runs with the same user, environment,
    /// capabilities and no_new_privileges as the application, never with more.
    ///
    /// `timeout` is the command's own time, as containerd's ExecSync counts it: the clock
    /// starts when runc has started the command (it writes the pid file then), so a busy
    /// host where runc itself takes a second to set up does not fail a liveness probe and
    /// restart a healthy instance. Past the timeout the command is killed. runc's setup
    /// gets `execSetupBudget` on top, enforced by coreutils' `timeout`.
    public func exec(instanceID: String, command: [String], timeout: Duration) async throws(RuntimeError) -> ExecOutcome
    {
        try Self.validate(instanceID: instanceID)
        guard !command.isEmpty else { throw RuntimeError(.invalidSpec, "exec needs a command") }
        let bundle = bundlePath(for: instanceID)
        let name = "exec-\(UUID().uuidString)"
        let processFile = "\(bundle)/\(name).json"
        let pidFile = "\(bundle)/\(name).pid"
        do {
            let config = try Data(contentsOf: URL(fileURLWithPath: "\(bundle)/config.json"))
            guard let root = try JSONSerialization.jsonObject(with: config) as? [String: Any],
                var process = root["process"] as? [String: Any]
            else { throw RuntimeError(.invalidSpec, "\(bundle)/config.json has no process") }
            process["args"] = command
            process["terminal"] = false
            let data = try JSONSerialization.data(withJSONObject: process)
            guard
                FileManager.default.createFile(
                    atPath: processFile, contents: data, attributes: [.posixPermissions: 0o600])
            else { throw RuntimeError(.io, "cannot write \(processFile)") }
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError(.io, "cannot prepare exec for instance \(instanceID)", cause: error)
        }
        defer {
            unlink(processFile)
            unlink(pidFile)
        }
        // Whole seconds for timeout(1), rounded up: a fraction more is nothing beside the setup budget.
        let budget = (timeout + Self.execSetupBudget).components.seconds + 1
        let arguments =
            ["--kill-after=5s", "\(budget)s", configuration.runtimeBinary] + runcGlobalArguments
            + ["exec", "--pid-file", pidFile, "--process", processFile, containerID(for: instanceID)]

        enum Event: Sendable {
            case finished(Result<HelperCommand.Output, RuntimeError>)
            case killed
            case stopped
        }
        var finished: Result<HelperCommand.Output, RuntimeError>?
        var killed = false
        await withTaskGroup(of: Event.self) { group in
            group.addTask {
                do throws(RuntimeError) {
                    return .finished(.success(try await HelperCommand.run("timeout", arguments)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                guard let pid = await Self.waitForPidFile(pidFile) else { return .stopped }
                do { try await Task.sleep(for: timeout) } catch { return .stopped }
                kill(pid, SIGKILL)
                return .killed
            }
            for await event in group {
                switch event {
                case .finished(let result):
                    finished = result
                    group.cancelAll()
                case .killed: killed = true
                case .stopped: break
                }
            }
        }
        let output = try finished!.get()
        guard case .exited(let code) = output.status else { return .timedOut }
        if code == 0 { return .exited(0, output: Self.text(output)) }
        // timeout(1) exits 124 when runc never got the command started within its budget.
        if killed || code == 124 { return .timedOut }
        return .exited(code, output: Self.text(output))
    }

    /// How long runc may take to start an exec'd command before the probe counts as timed out.
    static let execSetupBudget: Duration = .seconds(60)

    private static func text(_ output: HelperCommand.Output) -> String {
        (output.standardOutput + output.standardError).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The pid runc wrote once the command started (it writes the file whole, by rename),
    /// or nil when the wait is cancelled because runc finished first.
    private static func waitForPidFile(_ path: String) async -> pid_t? {
        while true {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
            {
                return pid
            }
            do { try await Task.sleep(for: .milliseconds(5)) } catch { return nil }
        }
    }
}
