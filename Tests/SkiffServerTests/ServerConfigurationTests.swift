import SkiffArchive
import SkiffServer
import Testing

/// `ServerConfiguration.validate()`: the rules a configuration meets however it was made.
@Suite struct ServerConfigurationTests {
    typealias Setting = ServerConfigurationError.Setting

    static func refusal(_ change: (inout ServerConfiguration) -> Void) -> ServerConfigurationError? {
        var configuration = ServerConfiguration()
        change(&configuration)
        do {
            try configuration.validate()
            return nil
        } catch {
            return error
        }
    }

    @Test func theDefaultsAreValid() throws {
        try ServerConfiguration().validate()
    }

    @Test func validSettingsPass() throws {
        var configuration = ServerConfiguration()
        configuration.dataDir = "/srv/skiff"
        (configuration.httpHost, configuration.httpPort) = ("0.0.0.0", 80)
        (configuration.apiHost, configuration.apiPort) = ("::1", 7071)
        configuration.domain = "Apps.Example.com"
        configuration.bridgeName = "skiff_br-0.1"
        configuration.subnet = "10.200.1.0/24"
        configuration.gatewayThreads = 256
        configuration.instanceLogRetention = .zero
        configuration.logLevel = "critical"
        try configuration.validate()
    }

    @Test(arguments: [
        (Setting.dataDir, "invalid dataDir: must not be empty"),
        (.httpAddress, "invalid httpAddress 0: port must be 1-65535"),
        (.apiAddress, "httpAddress and apiAddress must not be the same address"),
        (.domain, "invalid domain \"bad_domain\": expected a DNS name, e.g. localhost or apps.example.com"),
        (.runtimeBinary, "invalid runtimeBinary: must not be empty"),
        (
            .bridgeName,
            "invalid bridgeName \"a-very-long-bridge-name\": 1-15 letters, digits, '-', '_' or '.' (a Linux interface name)"
        ),
        (.subnet, "invalid subnet \"10.88.0.0\": expected an IPv4 CIDR, e.g. 10.88.0.0/16"),
        (.gatewayThreads, "invalid gatewayThreads 0: expected 1 to 256"),
        (.instanceLogRetention, "invalid instanceLogRetention -1.0 seconds: must not be negative"),
        (.logLevel, "invalid logLevel \"loud\": use one of trace, debug, info, notice, warning, error, critical"),
        (.maxLayerSize, "invalid maxLayerSize 1024: expected at least 1 MiB (1048576 bytes)"),
        (.maxImageSize, "invalid maxImageSize 1073741824: must be at least the per-layer limit of 4294967296 bytes"),
        (.maxExpansionRatio, "invalid maxExpansionRatio 1: expected at least 2; gzip layers expand 2-5 times"),
        (.diskReserve, "invalid diskReserve 95.0: expected a percentage from 0 to 90"),
    ])
    func anInvalidSettingIsRefusedByName(setting: Setting, message: String) throws {
        let error = try #require(
            Self.refusal { configuration in
                switch setting {
                case .dataDir: configuration.dataDir = ""
                case .httpAddress: configuration.httpPort = 0
                case .apiAddress:
                    (configuration.apiHost, configuration.apiPort) = (configuration.httpHost, configuration.httpPort)
                case .domain: configuration.domain = "bad_domain"
                case .runtimeBinary: configuration.runtimeBinary = ""
                case .bridgeName: configuration.bridgeName = "a-very-long-bridge-name"
                case .subnet: configuration.subnet = "10.88.0.0"
                case .gatewayThreads: configuration.gatewayThreads = 0
                case .instanceLogRetention: configuration.instanceLogRetention = .seconds(-1)
                case .logLevel: configuration.logLevel = "loud"
                case .maxLayerSize: configuration.maxLayerSize = 1024
                case .maxImageSize: configuration.maxImageSize = 1 << 30
                case .maxExpansionRatio: configuration.maxExpansionRatio = 1
                case .diskReserve: configuration.diskReservePercent = 95
                }
            })
        #expect(error.setting == setting)
        #expect("\(error)" == message)
    }

    @Test(arguments: [
        "", "-web.example.com", "web-.example.com", "a..b", "web.example.com.", String(repeating: "a", count: 64),
    ])
    func domainsMustBeDNSNames(domain: String) {
        #expect(Self.refusal { $0.domain = domain }?.setting == .domain)
    }

    @Test(arguments: ["10.88.0.0/7", "10.88.0.0/31", "10.88.0/16", "10.88.0.256/16", "a.b.c.d/16", "10.88.0.0/x"])
    func subnetsMustBeIPv4CIDRsThatLeaveRoomForInstances(subnet: String) {
        #expect(Self.refusal { $0.subnet = subnet }?.setting == .subnet)
    }

    @Test func theLayerLimitsDefaultToSizesRealImagesFitIn() {
        let limits = ServerConfiguration().unpackLimits
        #expect(limits.maxTotalBytes == 4 << 30)
        #expect(limits.maxImageBytes == 8 << 30)
        #expect(limits.maxExpansionRatio == 100)
        #expect(limits.expansionRatioFloor == 64 << 20)
        #expect(limits.minFreeDiskFraction == 0.10)
    }

    @Test func theLayerLimitsReachTheUnpacker() throws {
        var configuration = ServerConfiguration()
        configuration.maxLayerSize = 64 << 20
        configuration.maxImageSize = 64 << 20
        configuration.maxExpansionRatio = 20
        configuration.diskReservePercent = 0
        try configuration.validate()
        let limits = configuration.unpackLimits
        #expect(limits.maxTotalBytes == 64 << 20)
        #expect(limits.maxImageBytes == 64 << 20)
        #expect(limits.maxExpansionRatio == 20)
        #expect(limits.minFreeDiskFraction == 0)
    }

    @Test func theSameHostOnAnotherPortIsNoConflict() throws {
        var configuration = ServerConfiguration()
        configuration.apiHost = configuration.httpHost
        configuration.apiPort = configuration.httpPort + 1
        try configuration.validate()
    }

    @Test func aMessageNamesSettingsAsItsReaderKnowsThem() throws {
        let error = try #require(Self.refusal { $0.apiPort = $0.httpPort })
        #expect(
            error.message(naming: { "--" + $0.rawValue })
                == "--httpAddress and --apiAddress must not be the same address")
    }
}
