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

              skiff server
              skiff server --data-dir /srv/skiff --http 0.0.0.0:8080 --domain apps.example.com
            """
    )

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    @Option(help: ArgumentHelp("Where state, images and logs live (default: $SKIFF_DATA_DIR, then /var/lib/skiff).", valueName: "dir"))
    var dataDir: String?

    @Option(help: ArgumentHelp("The gateway's listen address, where services are served (default: 127.0.0.1:8080).", valueName: "host:port"))
    var http: String?

    @Option(help: ArgumentHelp("The API's listen address (default: 127.0.0.1:7070).", valueName: "host:port"))
    var api: String?

    @Option(help: ArgumentHelp("Services are served at NAME.DOMAIN (default: localhost).", valueName: "domain"))
    var domain: String?

    @Option(help: ArgumentHelp("The OCI runtime binary: runc, crun or runsc (default: runc).", valueName: "binary"))
    var runtime: String?

    @Option(help: ArgumentHelp("The Linux bridge instances attach to (default: skiff0).", valueName: "name"))
    var bridge: String?

    @Option(help: ArgumentHelp("The IPv4 subnet instance addresses come from (default: 10.88.0.0/16).", valueName: "cidr"))
    var subnet: String?

    @Option(help: ArgumentHelp("Threads serving the gateway, like nginx's worker_processes (default: one per CPU core).", valueName: "n"))
    var gatewayThreads: Int?

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (default: info).", valueName: "level"))
    var logLevel: String?

    @Option(help: ArgumentHelp("A running instance's log is rotated past this size; one rotated file is kept (default: 10Mi).", valueName: "size"))
    var instanceLogSize: String?

    @Option(help: ArgumentHelp("The logs of an instance that ended are deleted this long after its last line (default: 24h).", valueName: "duration"))
    var instanceLogRetention: String?

    @Option(help: ArgumentHelp("On SIGTERM, leave ready instances running for the next server to adopt (default: true).", valueName: "bool"))
    var keepInstancesOnShutdown: Bool?

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

    /// Flags, then the environment (`SKIFF_DATA_DIR`), then the server's defaults.
    func serverConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CLIError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let dataDir = dataDir ?? environment["SKIFF_DATA_DIR"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard !dataDir.isEmpty else { throw CLIError(.invalidInput, "invalid --data-dir: must not be empty") }
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
        if configuration.httpHost == configuration.apiHost, configuration.httpPort == configuration.apiPort {
            throw CLIError(.invalidInput, "--http and --api must not be the same address")
        }
        if let domain {
            let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
            guard !domain.isEmpty, domain.count <= 253,
                labels.allSatisfy({ label in
                    !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                        && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                })
            else {
                throw CLIError(.invalidInput, "invalid --domain \"\(domain)\": expected a DNS name, e.g. localhost or apps.example.com")
            }
            configuration.domain = domain.lowercased()
        }
        if let runtime {
            guard !runtime.isEmpty else { throw CLIError(.invalidInput, "invalid --runtime: must not be empty") }
            configuration.runtimeBinary = runtime
        }
        if let bridge {
            // IFNAMSIZ: interface names are at most 15 bytes.
            guard (1...15).contains(bridge.utf8.count),
                bridge.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else {
                throw CLIError(
                    .invalidInput, "invalid --bridge \"\(bridge)\": 1-15 letters, digits, '-', '_' or '.' (a Linux interface name)")
            }
            configuration.bridgeName = bridge
        }
        if let subnet {
            guard Self.isIPv4CIDR(subnet) else {
                throw CLIError(.invalidInput, "invalid --subnet \"\(subnet)\": expected an IPv4 CIDR, e.g. 10.88.0.0/16")
            }
            configuration.subnet = subnet
        }
        if let keepInstancesOnShutdown { configuration.keepInstancesOnShutdown = keepInstancesOnShutdown }
        if let gatewayThreads {
            guard (1...256).contains(gatewayThreads) else {
                throw CLIError(.invalidInput, "invalid --gateway-threads \(gatewayThreads): expected 1 to 256")
            }
            configuration.gatewayThreads = gatewayThreads
        }
        if let instanceLogSize {
            guard let size = try? MemoryQuantity(instanceLogSize) else {
                throw CLIError(
                    .invalidInput, "invalid --instance-log-size \"\(instanceLogSize)\": expected a size of at least 4Mi, e.g. 10Mi or 1Gi")
            }
            configuration.instanceLogMaxBytes = size.bytes
        }
        if let instanceLogRetention {
            guard let retention = try? DurationText.parse(instanceLogRetention), retention >= .zero else {
                throw CLIError(
                    .invalidInput,
                    "invalid --instance-log-retention \"\(instanceLogRetention)\": expected a duration, e.g. 24h, 30m or 0s")
            }
            configuration.instanceLogRetention = retention
        }
        if let logLevel {
            guard Self.logLevels.contains(logLevel) else {
                throw CLIError(
                    .invalidInput, "invalid --log-level \"\(logLevel)\": use one of \(Self.logLevels.joined(separator: ", "))")
            }
            configuration.logLevel = logLevel
        }
        return configuration
    }

    /// `a.b.c.d/n` with a prefix that leaves room for instances (8 to 30 bits).
    static func isIPv4CIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (8...30).contains(prefix) else { return false }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { octet in
            !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isNumber) && (Int(octet) ?? 256) <= 255
        }
    }
}
