import Foundation
import Glibc
import Logging
import SkiffOCI
import Synchronization

extension RuncRuntime {
    /// Stops and removes an instance: the image's stop signal (default SIGTERM), up to
    /// `grace` for the process to exit, SIGKILL, then `runc delete`, CNI DEL, the network
    /// namespace, the overlay mount, leftover cgroups and the bundle directory. Every step
    /// tolerates its part being gone, so this also finishes half-made or crashed instances.
    /// The log file stays.
    public func stop(instanceID: String, grace: Duration) async throws(RuntimeError) {
        try Self.validate(instanceID: instanceID)
        try await tearDown(instanceID, grace: grace)
    }

    func tearDown(_ id: String, grace: Duration) async throws(RuntimeError) {
        let bundle = bundlePath(for: id)
        let containerID = containerID(for: id)
        var firstError: RuntimeError?
        func attempt(_ step: () async throws(RuntimeError) -> Void) async {
            do { try await step() } catch {
                logger.warning("instance teardown step failed", metadata: ["instance": "\(id)", "error": "\(error)"])
                if firstError == nil { firstError = error }
            }
        }

        // A frozen process cannot act on a signal.
        writeFreezerState(id, "THAWED")
        await attempt { () async throws(RuntimeError) in
            try await stopContainer(id, containerID: containerID, bundle: bundle, grace: grace)
        }
        processes.withLock { _ = $0.removeValue(forKey: id) }

        // An instance started in a pooled namespace names it in its bundle; the CNI container
        // id is the namespace's name then.
        let pooled = (try? String(contentsOfFile: "\(bundle)/\(Self.networkNameFile)", encoding: .utf8))
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .flatMap { $0.hasPrefix(poolPrefix) && !$0.contains("/") ? $0 : nil }
        let netns = pooled ?? networkNamespace(for: id)
        let networkID = pooled ?? containerID
        let netnsPath = NetworkNamespace.path(netns)
        let bundleExists = access(bundle, F_OK) == 0
        if NetworkNamespace.exists(netns) || bundleExists || network.holdsAddress(containerID: networkID) {
            let previous = try? String(contentsOfFile: "\(bundle)/network.json", encoding: .utf8)
            await attempt { () async throws(RuntimeError) in
                try await network.detach(containerID: networkID, netnsPath: netnsPath, previousResult: previous)
            }
        }
        await attempt { () throws(RuntimeError) in try NetworkNamespace.delete(netns) }
        await attempt { () throws(RuntimeError) in try OverlayMount.unmount("\(bundle)/rootfs") }
        removeCgroups(id)
        if bundleExists {
            await attempt { () throws(RuntimeError) in try removeBundle(bundle) }
        }
        if let firstError { throw firstError }
    }

    /// Signals, waits, kills and deletes the runc container; a missing container is success.
    /// The kill is ours, not `runc delete --force`'s, which sleeps in 100 ms steps.
    private func stopContainer(_ id: String, containerID: String, bundle: String, grace: Duration)
        async throws(RuntimeError)
    {
        if let process = initProcess(of: id) {
            if grace > .zero, kill(process.pid, stopSignal(bundle: bundle)) == 0 {
                await waitForExit(process, within: grace)
            }
            if process.isAlive, kill(process.pid, SIGKILL) == 0 {
                // The kernel kills the rest of the pid namespace with its init.
                await waitForExit(process, within: .seconds(10))
            }
        }
        let delete = try await HelperCommand.run(
            configuration.runtimeBinary, runcGlobalArguments + ["delete", "--force", containerID])
        guard delete.succeeded || delete.diagnostic.contains("does not exist") else {
            throw RuntimeError(.runtime, "\(configuration.runtimeBinary) delete \(containerID): \(delete.diagnostic)")
        }
    }

    private func waitForExit(_ process: ProcessIdentity, within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        var interval = Duration.milliseconds(1)
        while process.isAlive, ContinuousClock.now < deadline {
            try? await Task.sleep(for: interval)
            interval = min(interval * 2, .milliseconds(20))
        }
    }

    /// The image's stop signal, kept as an annotation in config.json; SIGTERM otherwise.
    private func stopSignal(bundle: String) -> Int32 {
        guard let data = FileManager.default.contents(atPath: "\(bundle)/config.json"),
            let spec = try? JSONDecoder().decode(RuntimeSpec.self, from: data),
            let value = spec.annotations?[RuntimeSpecBuilder.stopSignalAnnotation],
            let number = Int32(value)
        else { return SIGTERM }
        return number
    }

    /// runc removes the cgroups it made; this catches those of a container that never got that far.
    private func removeCgroups(_ id: String) {
        guard let controllers = try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup") else { return }
        for controller in controllers {
            rmdir(cgroupPath(controller, id))
        }
    }

    /// Removes the bundle, refusing while `rootfs` is still a mount (its device differs).
    private func removeBundle(_ bundle: String) throws(RuntimeError) {
        var bundleInfo = stat()
        var rootfsInfo = stat()
        if stat(bundle, &bundleInfo) == 0, stat("\(bundle)/rootfs", &rootfsInfo) == 0,
            bundleInfo.st_dev != rootfsInfo.st_dev
        {
            throw RuntimeError(.mount, "\(bundle)/rootfs is still mounted; not removing \(bundle)")
        }
        do {
            try FileManager.default.removeItem(atPath: bundle)
        } catch {
            throw RuntimeError(.io, "cannot remove \(bundle)", cause: error)
        }
    }

    public func maintainLogs(live: Set<String>) async throws(RuntimeError) -> LogMaintenance {
        let (logs, policy) = (self.logs, configuration.logPolicy)
        // Copying a large log blocks: on a thread of its own, not one of Swift concurrency's few.
        return try await onOwnThread {
            Result { () throws(RuntimeError) in try logs.maintain(live: live, policy: policy) }
        }.get()
    }

    public func loggedInstances() async -> [String] { logs.instances() }
}
