extension RuntimeSpec {
    /// Cgroup limits (runtime-spec config-linux.md, "Control groups").
    public struct Resources: Codable, Sendable, Equatable {
        /// Device cgroup rules, applied in order.
        public var devices: [DeviceCgroup]?
        /// Memory limits.
        public var memory: Memory?
        /// CPU bandwidth and weight.
        public var cpu: CPU?
        /// The process-count limit.
        public var pids: Pids?

        public init(devices: [DeviceCgroup]? = nil, memory: Memory? = nil, cpu: CPU? = nil, pids: Pids? = nil) {
            self.devices = devices
            self.memory = memory
            self.cpu = cpu
            self.pids = pids
        }
    }

    /// One device cgroup rule: allow or deny access to matching devices.
    public struct DeviceCgroup: Codable, Sendable, Equatable {
        /// Whether the rule allows (`true`) or denies access.
        public var allow: Bool
        /// `a` (all), `c` (char) or `b` (block); absent means all.
        public var type: String?
        /// The device's major number; absent matches all.
        public var major: Int64?
        /// The device's minor number; absent matches all.
        public var minor: Int64?
        /// Some of `r`, `w`, `m` (mknod).
        public var access: String?

        public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
            self.allow = allow
            self.type = type
            self.major = major
            self.minor = minor
            self.access = access
        }
    }

    /// Memory cgroup limits, in bytes.
    public struct Memory: Codable, Sendable, Equatable {
        /// The limit of memory usage.
        public var limit: Int64?
        /// The limit of memory plus swap usage; equal to `limit` means no swap.
        public var swap: Int64?

        public init(limit: Int64? = nil, swap: Int64? = nil) {
            self.limit = limit
            self.swap = swap
        }
    }

    /// CPU cgroup settings (CFS).
    public struct CPU: Codable, Sendable, Equatable {
        /// The relative share of CPU time (`cpu.shares`).
        public var shares: UInt64?
        /// The CPU time in microseconds the cgroup may use in each `period`.
        public var quota: Int64?
        /// The length of the CFS period in microseconds.
        public var period: UInt64?

        public init(shares: UInt64? = nil, quota: Int64? = nil, period: UInt64? = nil) {
            self.shares = shares
            self.quota = quota
            self.period = period
        }
    }

    /// The pids cgroup limit.
    public struct Pids: Codable, Sendable, Equatable {
        /// The maximum number of tasks in the cgroup.
        public var limit: Int64

        public init(limit: Int64) { self.limit = limit }
    }
}
