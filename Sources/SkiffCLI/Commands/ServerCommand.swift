import ArgumentParser
import Foundation
import SkiffModel
import SkiffServer

/// `skiff server`: runs the control plane and the gateway in this process.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the Skiff server: the API, the gateway and the services' containers.",
        discussion: """
            Run it as root (runc, cgroups, a network bridge). On first start it creates an \
            admin token in DATA_DIR/admin.token and writes it to ~/.config/skiff/config.json for \
            the CLI.

            SIGTERM (a restart or an upgrade, e.g. systemd's) stops the server but keeps the \
            ready instances running: the next `skiff server` on the same data directory adopts \
            them and serves on without a cold start, as it does after a crash. SIGINT (Ctrl-C, \
            `make stop`) stops the platform for good: every instance drains and stops first. \
            With --keep-instances-on-shutdown=false, SIGTERM does that too.

            To upgrade without refusing a connection, start the new server with the same flags \
            while the old one runs: it takes over the gateway's listening socket, asks the old \
            one to stop, and adopts its instances once it has left.

            Anyone who can push or load images can make the server unpack them. A layer is \
            refused, and leaves nothing on disk, once it unpacks past --max-layer-size, takes \
            its image past --max-image-size, expands more than --max-expansion-ratio times its \
            compressed size (a decompression bomb), or would eat into the --disk-reserve kept \
            free; the deploy or push that needed it fails and names the limit. Every layer must \
            also hash to the diff_id its image's config lists.

              skiff server
              skiff server --data-dir /srv/skiff --http 0.0.0.0:8080 --domain apps.example.com
              skiff server --max-layer-size 2Gi --max-image-size 4Gi --disk-reserve 15
            """
    )

    @Option(
        help: ArgumentHelp(
            "Where state, images and logs live (default: $SKIFF_DATA_DIR, then /var/lib/skiff).", valueName: "dir"))
    var dataDir: String?

    @Option(
        help: ArgumentHelp(
            "The gateway's listen address, where services are served (default: 127.0.0.1:8080).", valueName: "host:port"
        ))
    var http: String?

    @Option(help: ArgumentHelp("The API's listen address (default: 127.0.0.1:7070).", valueName: "host:port"))
    var api: String?

    @Option(help: ArgumentHelp("Services are served at NAME.DOMAIN (default: localhost).", valueName: "domain"))
    var domain: String?

    @Option(help: ArgumentHelp("The OCI runtime binary: runc, crun or runsc (default: runc).", valueName: "binary"))
    var runtime: String?

    @Option(help: ArgumentHelp("The Linux bridge instances attach to (default: skiff0).", valueName: "name"))
    var bridge: String?

    @Option(
        help: ArgumentHelp("The IPv4 subnet instance addresses come from (default: 10.88.0.0/16).", valueName: "cidr"))
    var subnet: String?

    @Option(
        help: ArgumentHelp(
            "Threads serving the gateway, like nginx's worker_processes (default: one per CPU core).", valueName: "n"))
    var gatewayThreads: Int?

    @Option(
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (default: info).", valueName: "level"))
    var logLevel: String?

    @Option(
        help: ArgumentHelp(
            "A running instance's log is rotated past this size; one rotated file is kept (default: 10Mi).",
            valueName: "size"))
    var instanceLogSize: String?

    @Option(
        help: ArgumentHelp(
            "The logs of an instance that ended are deleted this long after its last line (default: 24h).",
            valueName: "duration"))
    var instanceLogRetention: String?

    @Option(
        help: ArgumentHelp(
            "On SIGTERM, leave ready instances running for the next server to adopt (default: true).", valueName: "bool"
        ))
    var keepInstancesOnShutdown: Bool?

    @Option(
        help: ArgumentHelp(
            "Most bytes one image layer may unpack to, and the largest blob a push may upload (default: 4Gi).",
            discussion: "Sizes take Ki, Mi, Gi or Ti (or k, M, G, T). A layer past the limit stops at once.",
            valueName: "size"))
    var maxLayerSize: String?

    @Option(
        help: ArgumentHelp(
            "Most bytes all layers of one image may unpack to together; at least --max-layer-size (default: 8Gi).",
            valueName: "size"))
    var maxImageSize: String?

    @Option(
        help: ArgumentHelp(
            "Most times a gzip layer may expand its compressed size, once past 64Mi unpacked (default: 100).",
            discussion: "Ordinary layers expand 2-5 times; a gzip of zeros, about 1000 times.",
            valueName: "n"))
    var maxExpansionRatio: Int64?

    @Option(
        help: ArgumentHelp(
            "Percent of the data directory's filesystem that unpacking layers always leaves free (default: 10).",
            discussion: "Checked as layers are written, not only before; 0 turns the check off.",
            valueName: "percent"))
    var diskReserve: String?

    func validate() throws {
        do {
            _ = try serverConfiguration(environment: [:])
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        try await Server(configuration: serverConfiguration()).run()
    }

    /// Flags, then the environment (`SKIFF_DATA_DIR`), then the server's defaults. The
    /// command only parses; what makes a configuration valid is `ServerConfiguration.validate()`.
    func serverConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CLIError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let dataDir = dataDir ?? environment["SKIFF_DATA_DIR"].flatMap({ $0.isEmpty ? nil : $0 }) {
            configuration.dataDir = dataDir
        }
        if let http {
            let address = try ListenAddress(parsing: http, option: "--http")
            (configuration.httpHost, configuration.httpPort) = (address.host, address.port)
        }
        if let api {
            let address = try ListenAddress(parsing: api, option: "--api")
            (configuration.apiHost, configuration.apiPort) = (address.host, address.port)
        }
        if let domain { configuration.domain = domain }
        if let runtime { configuration.runtimeBinary = runtime }
        if let bridge { configuration.bridgeName = bridge }
        if let subnet { configuration.subnet = subnet }
        if let keepInstancesOnShutdown { configuration.keepInstancesOnShutdown = keepInstancesOnShutdown }
        if let gatewayThreads { configuration.gatewayThreads = gatewayThreads }
        if let instanceLogSize {
            guard let size = try? MemoryQuantity(instanceLogSize) else {
                throw CLIError(
                    .invalidInput,
                    "invalid --instance-log-size \"\(instanceLogSize)\": expected a size of at least 4Mi, e.g. 10Mi or 1Gi"
                )
            }
            configuration.instanceLogMaxBytes = size.bytes
        }
        if let instanceLogRetention {
            guard let retention = try? DurationText.parse(instanceLogRetention) else {
                throw CLIError(
                    .invalidInput,
                    "invalid --instance-log-retention \"\(instanceLogRetention)\": expected a duration, e.g. 24h, 30m or 0s"
                )
            }
            configuration.instanceLogRetention = retention
        }
        if let logLevel { configuration.logLevel = logLevel }
        if let maxLayerSize { configuration.maxLayerSize = try Self.size(maxLayerSize, option: "--max-layer-size") }
        if let maxImageSize { configuration.maxImageSize = try Self.size(maxImageSize, option: "--max-image-size") }
        if let maxExpansionRatio { configuration.maxExpansionRatio = maxExpansionRatio }
        if let diskReserve {
            let number = diskReserve.hasSuffix("%") ? String(diskReserve.dropLast()) : diskReserve
            guard let percent = Double(number), percent.isFinite else {
                throw CLIError(
                    .invalidInput, "invalid --disk-reserve \"\(diskReserve)\": expected a percentage, e.g. 10 or 10%")
            }
            configuration.diskReservePercent = percent
        }
        do {
            try configuration.validate()
        } catch {
            throw CLIError(.invalidInput, error.message(naming: Self.flag))
        }
        // DNS names are case-insensitive; services are served at the lowercase one.
        configuration.domain = configuration.domain.lowercased()
        return configuration
    }

    /// A byte size as `MemoryQuantity` spells it: 512Mi, 4Gi, 2G.
    static func size(_ text: String, option: String) throws(CLIError) -> Int64 {
        do {
            return try MemoryQuantity.bytes(in: text, field: option)
        } catch {
            throw CLIError(.invalidInput, error.message)
        }
    }

    /// The flag that sets each setting, to name it in errors.
    static func flag(_ setting: ServerConfigurationError.Setting) -> String {
        switch setting {
        case .dataDir: "--data-dir"
        case .httpAddress: "--http"
        case .apiAddress: "--api"
        case .domain: "--domain"
        case .runtimeBinary: "--runtime"
        case .bridgeName: "--bridge"
        case .subnet: "--subnet"
        case .gatewayThreads: "--gateway-threads"
        case .instanceLogRetention: "--instance-log-retention"
        case .logLevel: "--log-level"
        case .maxLayerSize: "--max-layer-size"
        case .maxImageSize: "--max-image-size"
        case .maxExpansionRatio: "--max-expansion-ratio"
        case .diskReserve: "--disk-reserve"
        }
    }
}
