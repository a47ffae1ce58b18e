public import SkiffErrors

extension ServerConfiguration {
    /// The swift-log level names `logLevel` may take.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Refuses a configuration the server cannot run with, naming the first setting at fault.
    /// `skiff server` parses its flags into a configuration and calls this; the rules live
    /// here so that every way of making a configuration meets them.
    public func validate() throws(ServerConfigurationError) {
        func invalid(_ setting: ServerConfigurationError.Setting, _ value: String?, _ reason: String)
            -> ServerConfigurationError
        {
            ServerConfigurationError(setting, .invalid(value: value, reason: reason))
        }
        guard !dataDir.isEmpty else { throw invalid(.dataDir, nil, "must not be empty") }
        for (setting, port) in [(ServerConfigurationError.Setting.httpAddress, httpPort), (.apiAddress, apiPort)]
        where !(1...65535).contains(port) {
            throw invalid(setting, String(port), "port must be 1-65535")
        }
        if httpHost == apiHost, httpPort == apiPort {
            throw ServerConfigurationError(.apiAddress, .sameAddress(as: .httpAddress))
        }
        guard Self.isDNSName(domain) else {
            throw invalid(.domain, "\"\(domain)\"", "expected a DNS name, e.g. localhost or apps.example.com")
        }
        guard !runtimeBinary.isEmpty else { throw invalid(.runtimeBinary, nil, "must not be empty") }
        // IFNAMSIZ: interface names are at most 15 bytes.
        guard (1...15).contains(bridgeName.utf8.count),
            bridgeName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw invalid(
                .bridgeName, "\"\(bridgeName)\"", "1-15 letters, digits, '-', '_' or '.' (a Linux interface name)")
        }
        guard Self.isIPv4CIDR(subnet) else {
            throw invalid(.subnet, "\"\(subnet)\"", "expected an IPv4 CIDR, e.g. 10.88.0.0/16")
        }
        if let gatewayThreads, !(1...256).contains(gatewayThreads) {
            throw invalid(.gatewayThreads, String(gatewayThreads), "expected 1 to 256")
        }
        guard instanceLogRetention >= .zero else {
            throw invalid(.instanceLogRetention, "\(instanceLogRetention)", "must not be negative")
        }
        guard Self.logLevels.contains(logLevel) else {
            throw invalid(.logLevel, "\"\(logLevel)\"", "use one of \(Self.logLevels.joined(separator: ", "))")
        }
        guard maxLayerSize >= Self.minimumLayerSize else {
            throw invalid(
                .maxLayerSize, String(maxLayerSize), "expected at least 1 MiB (\(Self.minimumLayerSize) bytes)")
        }
        guard maxImageSize >= maxLayerSize else {
            throw invalid(
                .maxImageSize, String(maxImageSize), "must be at least the per-layer limit of \(maxLayerSize) bytes")
        }
        guard maxExpansionRatio >= 2 else {
            throw invalid(
                .maxExpansionRatio, String(maxExpansionRatio), "expected at least 2; gzip layers expand 2-5 times")
        }
        guard (0...90).contains(diskReservePercent) else {
            throw invalid(.diskReserve, "\(diskReservePercent)", "expected a percentage from 0 to 90")
        }
    }

    /// A layer limit below 1 MiB would refuse even the smallest base images.
    public static let minimumLayerSize: Int64 = 1 << 20

    /// Dot-separated labels of letters, digits and inner hyphens, 63 bytes each, 253 in all.
    static func isDNSName(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return !name.isEmpty && name.count <= 253
            && labels.allSatisfy { label in
                !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
    }

    /// `a.b.c.d/n` with a prefix that leaves room for instances (8 to 30 bits).
    static func isIPv4CIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), (8...30).contains(prefix) else { return false }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4
            && octets.allSatisfy { octet in
                !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isNumber) && (Int(octet) ?? 256) <= 255
            }
    }
}

/// A ``ServerConfiguration`` setting the server cannot run with.
///
/// The message names the setting by whatever name its reader knows it by: `skiff server`
/// names its flags (``message(naming:)``), ``message`` and ``description`` the
/// configuration's fields. The setting at fault is the error's code.
public struct ServerConfigurationError: SkiffError, Hashable {
    /// A setting of ``ServerConfiguration`` that has a rule; a listen address (host and port)
    /// counts as one setting.
    public enum Setting: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case dataDir, httpAddress, apiAddress, domain, runtimeBinary, bridgeName, subnet, gatewayThreads
        case instanceLogRetention, logLevel
        case maxLayerSize, maxImageSize, maxExpansionRatio, diskReserve

        /// The configuration's name for the setting.
        public var description: String { rawValue }
    }

    enum Problem: Sendable, Hashable {
        /// `value` (quoted when it is text; nil when empty) breaks the setting's rule.
        case invalid(value: String?, reason: String)
        /// The setting's address is the other's: two listeners cannot share it.
        case sameAddress(as: Setting)
    }

    /// The setting at fault.
    public let setting: Setting
    let problem: Problem

    /// The setting at fault, as the code every Skiff error has.
    public var code: Setting { setting }
    /// What is wrong, naming the configuration's fields.
    public var message: String { message(naming: \.rawValue) }
    /// Always nil: the value breaks a rule by itself.
    public var cause: (any Error)? { nil }

    init(_ setting: Setting, _ problem: Problem) {
        self.setting = setting
        self.problem = problem
    }

    /// What is wrong, with each setting called `name(setting)`.
    public func message(naming name: (Setting) -> String) -> String {
        switch problem {
        case .invalid(let value, let reason): "invalid \(name(setting))\(value.map { " \($0)" } ?? ""): \(reason)"
        case .sameAddress(let other): "\(name(other)) and \(name(setting)) must not be the same address"
        }
    }
}
