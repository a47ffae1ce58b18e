/// Where a ``RuncRuntime`` keeps its instances and logs, and which runtime binary it drives.
public struct RuntimeConfiguration: Sendable {
    /// Any OCI runtime CLI compatible with runc's (`runc`, `crun`, `runsc`); a name is looked up in PATH.
    public var runtimeBinary: String
    /// The runtime's state directory (`--root`). nil uses the binary's default (`/run/runc`
    /// for runc), so `runc list` and other operator tools see Skiff's containers.
    public var runtimeRoot: String?
    /// One bundle directory per instance: `config.json`, the overlay `upper`/`work` and the `rootfs` mount point.
    public var instancesDir: String
    /// Per-instance log files, `ID.log`, with the container's stdout and stderr.
    public var logsDir: String
    /// How large those files grow, and how long they stay after their instance ended.
    public var logPolicy: LogPolicy
    /// The bridge network instances attach to.
    public var network: NetworkConfiguration
    /// The cgroup parent of every instance: instance `ID` lives in `/sys/fs/cgroup/CONTROLLER/skiff/ID`.
    public var cgroupParent: String

    public init(
        runtimeBinary: String = "runc", runtimeRoot: String? = nil, instancesDir: String, logsDir: String,
        network: NetworkConfiguration, cgroupParent: String = "skiff", logPolicy: LogPolicy = LogPolicy()
    ) {
        self.runtimeBinary = runtimeBinary
        self.runtimeRoot = runtimeRoot
        self.instancesDir = instancesDir
        self.logsDir = logsDir
        self.network = network
        self.cgroupParent = cgroupParent
        self.logPolicy = logPolicy
    }
}
