/// A running instance: where to reach it and its init process on the host.
public struct StartedInstance: Sendable, Hashable {
    /// The instance id.
    public var id: String
    /// The instance's IPv4 address on the bridge, reachable from the host.
    public var address: String
    /// The port the process was told to listen on (`PORT`).
    public var port: Int
    /// The host pid of the container's init process.
    public var pid: Int32
    /// The file the container's stdout and stderr are appended to.
    public var logPath: String

    public init(id: String, address: String, port: Int, pid: Int32, logPath: String) {
        self.id = id
        self.address = address
        self.port = port
        self.pid = pid
        self.logPath = logPath
    }
}
