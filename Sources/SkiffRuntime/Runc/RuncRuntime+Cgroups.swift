import Foundation
import Glibc

extension RuncRuntime {
    /// Freezes every process of the instance with the v1 freezer (memory stays; a frozen
    /// instance uses no CPU). Returns once the cgroup reports FROZEN.
    public func freeze(instanceID: String) async throws(RuntimeError) {
        try Self.validate(instanceID: instanceID)
        let path = cgroupPath("freezer", instanceID) + "/freezer.state"
        guard writeFreezerState(instanceID, "FROZEN") else {
            throw RuntimeError(.cgroup, "cannot freeze instance \(instanceID): \(path): \(Errno.text(errno))")
        }
        // The kernel may report FREEZING while tasks are still being stopped.
        for _ in 0..<200 {
            if readFile(path) == "FROZEN" { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
        throw RuntimeError(.cgroup, "instance \(instanceID) did not freeze within a second")
    }

    /// Resumes a frozen instance.
    public func thaw(instanceID: String) async throws(RuntimeError) {
        try Self.validate(instanceID: instanceID)
        guard writeFreezerState(instanceID, "THAWED") else {
            throw RuntimeError(.cgroup, "cannot thaw instance \(instanceID): \(Errno.text(errno))")
        }
    }

    /// Writes FROZEN without waiting for the kernel to finish: the instance has no request in
    /// flight, so nothing waits for it to stop.
    public func freezeNow(instanceID: String) throws(RuntimeError) {
        try Self.validate(instanceID: instanceID)
        guard writeFreezerState(instanceID, "FROZEN") else {
            throw RuntimeError(.cgroup, "cannot freeze instance \(instanceID): \(Errno.text(errno))")
        }
    }

    /// Writes THAWED; the kernel wakes the processes before the write returns.
    public func thawNow(instanceID: String) {
        guard (try? Self.validate(instanceID: instanceID)) != nil else { return }
        writeFreezerState(instanceID, "THAWED")
    }

    /// Memory in use and CPU time consumed, from the instance's v1 cgroups.
    public func stats(instanceID: String) async throws(RuntimeError) -> InstanceStats {
        try Self.validate(instanceID: instanceID)
        let memoryPath = cgroupPath("memory", instanceID) + "/memory.usage_in_bytes"
        let cpuPath = cgroupPath("cpuacct", instanceID) + "/cpuacct.usage"
        guard let memory = readFile(memoryPath).flatMap({ Int64($0) }) else {
            throw RuntimeError(.cgroup, "cannot read \(memoryPath) of instance \(instanceID)")
        }
        guard let cpu = readFile(cpuPath).flatMap({ Int64($0) }) else {
            throw RuntimeError(.cgroup, "cannot read \(cpuPath) of instance \(instanceID)")
        }
        return InstanceStats(memoryBytes: memory, cpuNanoseconds: cpu)
    }

    @discardableResult
    func writeFreezerState(_ instanceID: String, _ state: String) -> Bool {
        let fd = open(cgroupPath("freezer", instanceID) + "/freezer.state", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return state.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }

    private func readFile(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
