extension RuntimeSpec {
    /// Linux-specific configuration (runtime-spec config-linux.md).
    public struct Linux: Codable, Sendable, Equatable {
        /// The namespaces the container joins (with `path`) or creates (without).
        public var namespaces: [Namespace]?
        /// The cgroup limits of the container.
        public var resources: Resources?
        /// The path of the container's cgroups, relative to each hierarchy's root when absolute.
        public var cgroupsPath: String?
        /// Paths masked inside the container (a bind of `/dev/null` or an empty read-only tmpfs).
        public var maskedPaths: [String]?
        /// Paths remounted read-only inside the container.
        public var readonlyPaths: [String]?
        /// The system call filter.
        public var seccomp: Seccomp?

        public init(
            namespaces: [Namespace]? = nil, resources: Resources? = nil, cgroupsPath: String? = nil,
            maskedPaths: [String]? = nil, readonlyPaths: [String]? = nil, seccomp: Seccomp? = nil
        ) {
            self.namespaces = namespaces
            self.resources = resources
            self.cgroupsPath = cgroupsPath
            self.maskedPaths = maskedPaths
            self.readonlyPaths = readonlyPaths
            self.seccomp = seccomp
        }
    }

    /// A namespace of the container (runtime-spec config-linux.md, "Namespaces").
    public struct Namespace: Codable, Sendable, Equatable {
        /// The namespace type: `pid`, `network`, `mount`, `ipc`, `uts`, `user` or `cgroup`.
        public var type: String
        /// A namespace file to join; without it the runtime creates a new namespace.
        public var path: String?

        public init(type: String, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }
}
