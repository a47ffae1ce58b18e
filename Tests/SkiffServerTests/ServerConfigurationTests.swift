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
