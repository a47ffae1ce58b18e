/// Resource usage of one instance, from its cgroup.
public struct InstanceStats: Sendable, Hashable {
    /// Memory in use, page cache included (`memory.usage_in_bytes`).
    public var memoryBytes: Int64
    /// CPU time consumed since the instance started (`cpuacct.usage`).
    public var cpuNanoseconds: Int64

    public init(memoryBytes: Int64, cpuNanoseconds: Int64) {
        self.memoryBytes = memoryBytes
        self.cpuNanoseconds = cpuNanoseconds
    }
}
