public import SkiffArchive
import SkiffRuntime

/// Everything `skiff server` can be told, with the embedded defaults a single machine needs.
public struct ServerConfiguration: Sendable, Hashable {
    /// Where the database, blobs, snapshots, instances and logs live.
    public var dataDir: String = "/var/lib/skiff"
    /// The gateway's listen address: where services are served.
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 8080
    /// The control-plane API's listen address.
    public var apiHost: String = "127.0.0.1"
    public var apiPort: Int = 7070
    /// Services are served at `NAME.DOMAIN`.
    public var domain: String = "localhost"
    /// Any OCI runtime CLI (runc, crun, runsc).
    public var runtimeBinary: String = "runc"
    /// The Linux bridge instances attach to.
    public var bridgeName: String = "skiff0"
    /// The subnet instance addresses come from.
    public var subnet: String = "10.88.0.0/16"
    /// swift-log level name: trace, debug, info, notice, warning, error, critical.
    public var logLevel: String = "info"
    /// Event-loop threads serving the gateway; `nil` means one per CPU core.
    public var gatewayThreads: Int?
    /// A running instance's log is rotated past this size (one rotated file is kept).
    public var instanceLogMaxBytes: Int64 = LogPolicy.defaultMaxBytes
    /// The logs of an instance that ended are deleted this long after its last line.
    public var instanceLogRetention: Duration = LogPolicy.defaultRetention
    /// Whether first start writes the admin token into the CLI config (`~/.config/skiff/config.json`).
    public var writeClientConfig: Bool = true
    /// Whether SIGTERM leaves ready instances running for the next server process to adopt
    /// (as containerd's and Docker's live restore do); SIGINT always stops them.
    public var keepInstancesOnShutdown: Bool = true
    /// Most uncompressed bytes one image layer may unpack to; also the largest blob the
    /// registry accepts in a push. A layer past it stops at once and leaves no snapshot.
    public var maxLayerSize: Int64 = UnpackLimits.defaultMaxLayerBytes
    /// Most uncompressed bytes all layers of one image may unpack to together.
    public var maxImageSize: Int64 = UnpackLimits.defaultMaxImageBytes
    /// Most uncompressed bytes per compressed byte of a gzip layer, applied once a layer has
    /// unpacked more than ``UnpackLimits/expansionRatioFloor`` (64 MiB): ordinary layers
    /// expand 2-5 times, decompression bombs hundreds of times.
    public var maxExpansionRatio: Int64 = 100
    /// Percent of the snapshot filesystem that unpacking layers always leaves free, checked
    /// as it writes; 0 turns the check off.
    public var diskReservePercent: Double = 10

    /// The bounds every layer unpack meets, from the settings above.
    public var unpackLimits: UnpackLimits {
        UnpackLimits(
            maxTotalBytes: maxLayerSize, maxImageBytes: maxImageSize, maxExpansionRatio: maxExpansionRatio,
            minFreeDiskFraction: diskReservePercent / 100)
    }

    public init() {}
}
