/// The parts of a CNI 1.0 ADD result Skiff reads: the container's address and the
/// host-side veth to isolate.
struct CNIResult: Decodable {
    struct Interface: Decodable {
        var name: String
        var sandbox: String?
    }

    struct IPConfig: Decodable {
        /// CIDR form, e.g. `10.88.0.5/16`.
        var address: String
        var interface: Int?
    }

    var interfaces: [Interface]?
    var ips: [IPConfig]?

    /// The first IPv4 address, without its prefix length.
    var ipv4Address: String? {
        for ip in ips ?? [] {
            let address = ip.address.split(separator: "/").first.map(String.init) ?? ip.address
            if address.contains(".") { return address }
        }
        return nil
    }

    /// The veth end on the host: not in the sandbox, not the bridge.
    func hostInterface(bridge: String) -> String? {
        interfaces?.first { $0.sandbox == nil && $0.name != bridge }?.name
    }
}

/// A CNI plugin's error result.
struct CNIErrorResult: Decodable {
    var code: Int?
    var msg: String?
    var details: String?
}
