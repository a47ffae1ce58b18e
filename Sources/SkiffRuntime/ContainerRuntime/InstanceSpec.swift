public import SkiffOCI

/// Everything needed to start one instance: the image's snapshot layers and execution
/// config, and the service's overrides and limits.
public struct InstanceSpec: Sendable, Hashable {
    /// The instance id, e.g. `web-7f3a9c2e`: also the container's hostname. DNS-label
    /// characters only (`a-z`, `0-9`, `-`), at most 48 of them.
    public var id: String
    /// Unpacked layer directories, base layer first. Shared read-only; never written.
    public var lowerDirs: [String]
    /// The image's execution defaults.
    public var image: ImageConfig.ExecutionConfig?
    /// Replaces the image's `Entrypoint` when set (Kubernetes `command`).
    public var command: [String]?
    /// Replaces the image's `Cmd` when set (Kubernetes `args`).
    public var args: [String]?
    /// Service environment: overrides the image's `Env`; `PORT` always wins over both.
    public var env: [String: String]
    /// Overrides the image's `WorkingDir`; the default is `/`.
    public var workingDir: String?
    /// The port the process must listen on, passed as `PORT`.
    public var port: Int
    /// The memory cgroup limit (no swap beyond it); nil means unlimited.
    public var memoryLimitBytes: Int64?
    /// CPU time in thousandths of a CPU: 500 is half a CPU; nil means unlimited.
    public var cpuMillis: Int?
    /// The maximum number of tasks; nil means ``RuntimeSpecBuilder/defaultPidsLimit``.
    public var pidsLimit: Int?

    public init(
        id: String, lowerDirs: [String], image: ImageConfig.ExecutionConfig? = nil, command: [String]? = nil,
        args: [String]? = nil, env: [String: String] = [:], workingDir: String? = nil, port: Int = 8080,
        memoryLimitBytes: Int64? = nil, cpuMillis: Int? = nil, pidsLimit: Int? = nil
    ) {
        self.id = id
        self.lowerDirs = lowerDirs
        self.image = image
        self.command = command
        self.args = args
        self.env = env
        self.workingDir = workingDir
        self.port = port
        self.memoryLimitBytes = memoryLimitBytes
        self.cpuMillis = cpuMillis
        self.pidsLimit = pidsLimit
    }
}
