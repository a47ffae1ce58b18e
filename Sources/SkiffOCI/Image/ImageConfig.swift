/// The image configuration blob (OCI image spec, config.md): how to run the image and
/// the diff IDs of its layers.
public struct ImageConfig: Codable, Sendable, Hashable {
    /// Creation time as RFC 3339.
    public var created: String?
    /// Who built the image.
    public var author: String?
    /// CPU architecture, e.g. `amd64`.
    public var architecture: String
    /// Operating system, e.g. `linux`.
    public var os: String
    /// Execution parameters used as defaults when a container is run from the image.
    public var config: ExecutionConfig?
    /// The layers' uncompressed digests.
    public var rootfs: RootFS

    public init(architecture: String = "amd64", os: String = "linux", config: ExecutionConfig?, rootfs: RootFS) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
    }

    /// The `config` member of the image configuration.
    public struct ExecutionConfig: Codable, Sendable, Hashable {
        /// `user`, `uid`, `user:group`, `uid:gid`, `uid:group` or `user:gid`.
        public var User: String?
        /// Ports to expose, keys like `8080/tcp`.
        public var ExposedPorts: [String: EmptyObject]?
        /// Entries in the form `VARNAME=VALUE`.
        public var Env: [String]?
        /// Arguments used as the command, to which `Cmd` is appended.
        public var Entrypoint: [String]?
        /// Default arguments to the entrypoint.
        public var Cmd: [String]?
        /// Directories to be backed by volumes.
        public var Volumes: [String: EmptyObject]?
        /// The working directory of the process.
        public var WorkingDir: String?
        /// Arbitrary metadata.
        public var Labels: [String: String]?
        /// The system call signal sent to stop the container.
        public var StopSignal: String?

        public init(
            User: String? = nil, Env: [String]? = nil, Entrypoint: [String]? = nil, Cmd: [String]? = nil,
            WorkingDir: String? = nil, ExposedPorts: [String: EmptyObject]? = nil
        ) {
            self.User = User
            self.Env = Env
            self.Entrypoint = Entrypoint
            self.Cmd = Cmd
            self.WorkingDir = WorkingDir
            self.ExposedPorts = ExposedPorts
        }
    }

    /// The `rootfs` member: the uncompressed layer digests in order.
    public struct RootFS: Codable, Sendable, Hashable {
        /// Always `layers`.
        public var type: String
        /// The digests of the uncompressed layer tars, base first.
        public var diff_ids: [Digest]

        public init(diffIDs: [Digest]) {
            self.type = "layers"
            self.diff_ids = diffIDs
        }
    }
}

/// The `{}` value the image config uses for sets such as `ExposedPorts`.
public struct EmptyObject: Codable, Sendable, Hashable {
    public init() {}
}
