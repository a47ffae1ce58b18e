/// The iptables rules that keep instances away from the host: a chain `SKIFF-BRIDGE`, jumped
/// to from INPUT and FORWARD for packets arriving on the bridge, accepts replies to
/// connections the host opened (ESTABLISHED, RELATED) and drops everything else. So an
/// instance reaches neither the control plane nor any other host port nor, through the
/// host, anything else; the host still connects to instances. No NAT rules.
struct HostFirewall: Sendable {
    let bridge: String
    let chain: String

    init(configuration: NetworkConfiguration) {
        bridge = configuration.bridgeName
        chain = configuration.firewallChain
    }

    /// Creates or refreshes the chain and the jumps; safe to repeat.
    func install() async throws(RuntimeError) {
        // Declaring a chain in a --noflush restore creates or flushes it: one atomic step.
        let rules = """
            *filter
            :\(chain) - [0:0]
            -A \(chain) -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
            -A \(chain) -j DROP
            COMMIT

            """
        let restore = try await HelperCommand.run("iptables-restore", ["-w", "--noflush"], input: rules)
        guard restore.succeeded else {
            throw RuntimeError(.network, "cannot install iptables chain \(chain): \(restore.diagnostic)")
        }
        for parent in ["INPUT", "FORWARD"] {
            let jump = ["-i", bridge, "-j", chain]
            let check = try await HelperCommand.run("iptables", ["-w", "-C", parent] + jump)
            if check.succeeded { continue }
            let insert = try await HelperCommand.run("iptables", ["-w", "-I", parent, "1"] + jump)
            guard insert.succeeded else {
                throw RuntimeError(.network, "cannot add the \(parent) jump to \(chain): \(insert.diagnostic)")
            }
        }
    }

    /// Removes the jumps and the chain; missing ones are success.
    func remove() async throws(RuntimeError) {
        for parent in ["INPUT", "FORWARD"] {
            let jump = ["-i", bridge, "-j", chain]
            // Delete every copy, in case an earlier run raced and added two.
            while try await HelperCommand.run("iptables", ["-w", "-C", parent] + jump).succeeded {
                let delete = try await HelperCommand.run("iptables", ["-w", "-D", parent] + jump)
                guard delete.succeeded else {
                    throw RuntimeError(.network, "cannot remove the \(parent) jump to \(chain): \(delete.diagnostic)")
                }
            }
        }
        let list = try await HelperCommand.run("iptables", ["-w", "-S", chain])
        guard list.succeeded else { return }
        for arguments in [["-w", "-F", chain], ["-w", "-X", chain]] {
            let output = try await HelperCommand.run("iptables", arguments)
            guard output.succeeded else {
                throw RuntimeError(.network, "cannot remove iptables chain \(chain): \(output.diagnostic)")
            }
        }
    }
}
