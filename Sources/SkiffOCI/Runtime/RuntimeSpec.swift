/// The container configuration of the OCI runtime specification (`config.json`,
/// runtime-spec config.md), limited to the fields Skiff uses. Field names and JSON keys
/// mirror the specification one to one; absent optionals are omitted from the JSON.
public struct RuntimeSpec: Codable, Sendable, Equatable {
    /// The version of the Open Container Initiative Runtime Specification the bundle complies with.
    public var ociVersion: String
    /// The container process.
    public var process: Process?
    /// The container's root filesystem.
    public var root: Root?
    /// The container's hostname as seen by processes running inside it.
    public var hostname: String?
    /// Additional mounts beyond `root`, mounted in the listed order.
    public var mounts: [Mount]?
    /// Platform-specific configuration for Linux.
    public var linux: Linux?
    /// Arbitrary metadata, keys in reverse-domain notation.
    public var annotations: [String: String]?

    public init(
        ociVersion: String = RuntimeSpec.version, process: Process? = nil, root: Root? = nil, hostname: String? = nil,
        mounts: [Mount]? = nil, linux: Linux? = nil, annotations: [String: String]? = nil
    ) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.mounts = mounts
        self.linux = linux
        self.annotations = annotations
    }

    /// The runtime-spec version Skiff writes; runc 1.1 implements 1.0.2.
    public static let version = "1.0.2"
}
