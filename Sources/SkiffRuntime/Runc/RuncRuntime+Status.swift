import Foundation
import Glibc
import Synchronization

extension RuncRuntime {
    /// Whether the instance's init process is alive: one read of /proc/PID/stat (zombies
    /// and recycled pids count as exited). The pid comes from memory, or after a restart of
    /// the server from the bundle's `init.pid`.
    public func isRunning(instanceID: String) async -> Bool {
        initProcess(of: instanceID)?.isAlive ?? false
    }

    /// The instance's init process, from memory or, after a restart of the server, from the
    /// bundle's `init.pid`; nil when it is gone.
    func initProcess(of instanceID: String) -> ProcessIdentity? {
        if let process = processes.withLock({ $0[instanceID] }) {
            return process
        }
        guard (try? Self.validate(instanceID: instanceID)) != nil,
            let text = try? String(contentsOfFile: "\(bundlePath(for: instanceID))/init.pid", encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let process = ProcessIdentity.current(pid: pid),
            // The pid file may be older than a recycled pid: the process must be in the instance's cgroup.
            isInCgroup(pid: pid, instanceID: instanceID)
        else { return nil }
        processes.withLock { $0[instanceID] = process }
        return process
    }

    private func isInCgroup(pid: Int32, instanceID: String) -> Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return false }
        return text.contains("/\(configuration.cgroupParent)/\(instanceID)\n")
    }

    /// Instances this runtime left behind: runc containers named `skiff-ID` whose bundle is
    /// in the instances directory, plus bundle directories without a container (a crash
    /// mid-start). Stopping each removes everything.
    public func leftovers() async throws(RuntimeError) -> [String] {
        var ids = Set<String>()
        // `runc list` fails when a container disappears while it reads the state dir: retry.
        var list = try await HelperCommand.run(
            configuration.runtimeBinary, runcGlobalArguments + ["list", "--format", "json"])
        for _ in 0..<4 where !list.succeeded {
            list = try await HelperCommand.run(
                configuration.runtimeBinary, runcGlobalArguments + ["list", "--format", "json"])
        }
        guard list.succeeded else {
            throw RuntimeError(.runtime, "\(configuration.runtimeBinary) list: \(list.diagnostic)")
        }
        let prefix =
            configuration.instancesDir.hasSuffix("/") ? configuration.instancesDir : configuration.instancesDir + "/"
        let parsed = (try? JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8))) as? [[String: Any]] ?? []
        for container in parsed {
            guard let id = container["id"] as? String, id.hasPrefix(Self.namePrefix),
                let bundle = container["bundle"] as? String, bundle.hasPrefix(prefix)
            else { continue }
            ids.insert(String(id.dropFirst(Self.namePrefix.count)))
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: configuration.instancesDir)) ?? [] {
            if (try? Self.validate(instanceID: name)) != nil { ids.insert(name) }
        }
        return ids.sorted()
    }
}
