/// Runs instances: the controller's only view of containers. Implemented by ``RuncRuntime``
/// on this machine; a Kubernetes runtime is the planned second implementation.
public protocol ContainerRuntime: Sendable {
    /// Creates and starts an instance; on any failure everything made so far is undone.
    func start(_ spec: InstanceSpec) async throws(RuntimeError) -> StartedInstance
    /// Sends SIGTERM (or the image's stop signal), waits up to `grace`, sends SIGKILL, then
    /// removes the container, its network attachment, root filesystem, cgroup and
    /// instance directory. Idempotent: succeeds for an instance that is half-made or gone.
    func stop(instanceID: String, grace: Duration) async throws(RuntimeError)
    /// Whether the instance's process is alive. Cheap enough to call every 250 ms per instance.
    func isRunning(instanceID: String) async -> Bool
    /// Instances this runtime left on the machine (after a crash of the server), for
    /// cleanup with ``stop(instanceID:grace:)`` or adoption.
    func leftovers() async throws(RuntimeError) -> [String]
    /// Takes back a running instance a previous server process left (after a crash, or a
    /// shutdown that kept its instances): verifies its process and finds its address, so the
    /// caller can probe it and route to it. Throws when it cannot be verified; then the caller
    /// stops it with ``stop(instanceID:grace:)``.
    func adopt(instanceID: String, port: Int) async throws(RuntimeError) -> StartedInstance
    /// Asks the cgroup freezer to stop every process of the instance (memory stays). Quick
    /// and synchronous: the gateway's freezer calls it under a lock.
    func freezeNow(instanceID: String) throws(RuntimeError)
    /// Resumes a frozen instance. Quick and synchronous: a request waits on it.
    func thawNow(instanceID: String)
    /// Runs `command` inside the running instance, as its own process runs (user,
    /// environment, working directory, limits), for an exec probe. Returns the exit status;
    /// a command still running after `timeout` is killed and reported as ``ExecOutcome/timedOut``.
    func exec(instanceID: String, command: [String], timeout: Duration) async throws(RuntimeError) -> ExecOutcome
    /// Keeps the instances' logs in bounds: rotates those of `live` instances that grew past
    /// the size limit, deletes those of other instances older than the retention.
    func maintainLogs(live: Set<String>) async throws(RuntimeError) -> LogMaintenance
    /// The instances, running or ended, that still have a log, the least recently written first.
    func loggedInstances() async -> [String]
}

/// How a command run inside an instance ended.
public enum ExecOutcome: Sendable, Hashable {
    case exited(Int32, output: String)
    case timedOut
}

extension ContainerRuntime {
    /// Runtimes without a freezer never freeze: idle instances simply keep running.
    public func freezeNow(instanceID: String) throws(RuntimeError) {
        throw RuntimeError(.cgroup, "this runtime cannot freeze instances")
    }

    public func thawNow(instanceID: String) {}

    /// Runtimes that cannot find their instances again adopt nothing: they are replaced.
    public func adopt(instanceID: String, port: Int) async throws(RuntimeError) -> StartedInstance {
        throw RuntimeError(.notFound, "this runtime cannot adopt instance \(instanceID)")
    }

    public func exec(instanceID: String, command: [String], timeout: Duration) async throws(RuntimeError) -> ExecOutcome
    {
        throw RuntimeError(.runtime, "this runtime cannot run commands in instances")
    }

    /// Runtimes whose logs live elsewhere have nothing to keep in bounds here.
    public func maintainLogs(live: Set<String>) async throws(RuntimeError) -> LogMaintenance { LogMaintenance() }

    public func loggedInstances() async -> [String] { [] }
}
