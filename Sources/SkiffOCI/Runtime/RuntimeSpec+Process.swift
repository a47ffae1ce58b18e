extension RuntimeSpec {
    /// The container process (runtime-spec config.md, "Process").
    public struct Process: Codable, Sendable, Equatable {
        /// Whether a terminal is attached to the process.
        public var terminal: Bool?
        /// The user the process runs as.
        public var user: User
        /// The executable and its arguments, with `execvp` semantics for `args[0]`.
        public var args: [String]
        /// Environment variables in the form `KEY=value`.
        public var env: [String]?
        /// The working directory, an absolute path inside the container.
        public var cwd: String
        /// The capabilities of the process.
        public var capabilities: Capabilities?
        /// Resource limits set with `setrlimit`.
        public var rlimits: [Rlimit]?
        /// Prevents the process from gaining privileges (`PR_SET_NO_NEW_PRIVS`).
        public var noNewPrivileges: Bool?

        public init(
            terminal: Bool? = false, user: User = User(), args: [String], env: [String]? = nil, cwd: String = "/",
            capabilities: Capabilities? = nil, rlimits: [Rlimit]? = nil, noNewPrivileges: Bool? = nil
        ) {
            self.terminal = terminal
            self.user = user
            self.args = args
            self.env = env
            self.cwd = cwd
            self.capabilities = capabilities
            self.rlimits = rlimits
            self.noNewPrivileges = noNewPrivileges
        }
    }

    /// The identity of the container process (runtime-spec config.md, "User", POSIX platforms).
    public struct User: Codable, Sendable, Equatable {
        /// The user ID in the container namespace.
        public var uid: UInt32
        /// The group ID in the container namespace.
        public var gid: UInt32
        /// Additional group IDs in the container namespace added to the process.
        public var additionalGids: [UInt32]?

        public init(uid: UInt32 = 0, gid: UInt32 = 0, additionalGids: [UInt32]? = nil) {
            self.uid = uid
            self.gid = gid
            self.additionalGids = additionalGids
        }
    }

    /// The capability sets of the process, each a list of names such as `CAP_CHOWN`.
    public struct Capabilities: Codable, Sendable, Equatable {
        /// The bounding set: the most the process can ever hold.
        public var bounding: [String]?
        /// The effective set: the capabilities checked by the kernel.
        public var effective: [String]?
        /// The permitted set: the capabilities the process may make effective.
        public var permitted: [String]?
        /// The inheritable set: the capabilities kept across `execve`; omitted means empty.
        public var inheritable: [String]?
        /// The ambient set: the capabilities kept across `execve` of non-privileged programs.
        public var ambient: [String]?

        public init(
            bounding: [String]? = nil, effective: [String]? = nil, permitted: [String]? = nil,
            inheritable: [String]? = nil, ambient: [String]? = nil
        ) {
            self.bounding = bounding
            self.effective = effective
            self.permitted = permitted
            self.inheritable = inheritable
            self.ambient = ambient
        }
    }

    /// One resource limit of the process (`setrlimit`).
    public struct Rlimit: Codable, Sendable, Equatable {
        /// The resource, e.g. `RLIMIT_NOFILE`.
        public var type: String
        /// The ceiling for the soft limit, enforced by the kernel.
        public var hard: UInt64
        /// The value the kernel enforces for the resource.
        public var soft: UInt64

        public init(type: String, hard: UInt64, soft: UInt64) {
            self.type = type
            self.hard = hard
            self.soft = soft
        }
    }
}
