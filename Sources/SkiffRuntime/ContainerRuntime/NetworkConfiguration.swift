/// The bridge network of a runtime: one Linux bridge, addresses from one subnet by the CNI
/// `host-local` IPAM plugin. Instances can reach nothing but their own port's replies: ports
/// are isolated from each other, and a firewall chain drops everything instances send to the
/// host or try to route through it.
public struct NetworkConfiguration: Sendable {
    /// The Linux bridge, at most 15 characters; created by the CNI bridge plugin on first use.
    public var bridgeName: String
    /// The IPv4 subnet in CIDR form; the bridge takes its first address as gateway.
    public var subnet: String
    /// Where the CNI plugin binaries are.
    public var cniBinDir: String
    /// CNI state: the `host-local` address reservations live in `CNISTATEDIR/ipam/BRIDGE`.
    public var cniStateDir: String

    public init(
        bridgeName: String = "skiff0", subnet: String = "10.88.0.0/16", cniBinDir: String = "/usr/lib/cni",
        cniStateDir: String
    ) {
        self.bridgeName = bridgeName
        self.subnet = subnet
        self.cniBinDir = cniBinDir
        self.cniStateDir = cniStateDir
    }

    /// The iptables chain holding this bridge's rules.
    public var firewallChain: String { "SKIFF-\(bridgeName)" }
}
