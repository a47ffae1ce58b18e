import Foundation
import Glibc

/// Attaches network namespaces to the runtime's bridge with the CNI `bridge` plugin and
/// `host-local` IPAM, isolates each port, and keeps the host firewall chain in place.
///
/// Plugin configuration: `isGateway` (the bridge holds the subnet's first address, so the
/// host reaches instances directly), no IP masquerade, no hairpin, no routes: instances have
/// no default route and no NAT, so no egress. The bridge plugin enables `ip_forward` when
/// `isGateway` is set; the firewall chain also drops everything forwarded from the bridge.
struct BridgeNetwork: Sendable {
    let configuration: NetworkConfiguration

    static let interfaceName = "eth0"

    /// The network configuration given to the plugin on stdin.
    var pluginConfig: String {
        let config: [String: Any] = [
            "cniVersion": "1.0.0",
            "name": configuration.bridgeName,
            "type": "bridge",
            "bridge": configuration.bridgeName,
            "isGateway": true,
            "ipMasq": false,
            "hairpinMode": false,
            "ipam": [
                "type": "host-local",
                "ranges": [[["subnet": configuration.subnet]]],
                "dataDir": ipamDir,
            ] as [String: Any],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    var ipamDir: String { "\(configuration.cniStateDir)/ipam" }

    /// Runs CNI ADD for `containerID` in the namespace at `netnsPath` and isolates the new
    /// bridge port. Returns the container's IPv4 address and the raw result (kept for DEL).
    func attach(containerID: String, netnsPath: String) async throws(RuntimeError) -> (address: String, result: String)
    {
        let output = try await runPlugin(
            command: "ADD", containerID: containerID, netnsPath: netnsPath, config: pluginConfig)
        guard output.succeeded else {
            throw RuntimeError(.network, "CNI bridge ADD for \(containerID) failed: \(Self.pluginMessage(output))")
        }
        let result: CNIResult
        do {
            result = try JSONDecoder().decode(CNIResult.self, from: Data(output.standardOutput.utf8))
        } catch {
            throw RuntimeError(.network, "CNI bridge ADD for \(containerID) printed an unreadable result", cause: error)
        }
        guard let address = result.ipv4Address else {
            throw RuntimeError(.network, "CNI bridge ADD for \(containerID) returned no IPv4 address")
        }
        guard let veth = result.hostInterface(bridge: configuration.bridgeName) else {
            throw RuntimeError(.network, "CNI bridge ADD for \(containerID) did not name the host-side interface")
        }
        try isolate(port: veth)
        return (address, output.standardOutput)
    }

    /// Runs CNI DEL: releases the address and removes the veth. Safe to repeat and with the
    /// namespace gone.
    func detach(containerID: String, netnsPath: String, previousResult: String?) async throws(RuntimeError) {
        var config = pluginConfig
        if let previousResult, let withPrevious = Self.adding(previousResult: previousResult, to: config) {
            config = withPrevious
        }
        let output = try await runPlugin(
            command: "DEL", containerID: containerID,
            netnsPath: access(netnsPath, F_OK) == 0 ? netnsPath : "", config: config)
        guard output.succeeded else {
            throw RuntimeError(.network, "CNI bridge DEL for \(containerID) failed: \(Self.pluginMessage(output))")
        }
    }

    /// Whether the IPAM still holds an address for `containerID` (host-local keeps one file
    /// per address whose content is the container id).
    func holdsAddress(containerID: String) -> Bool {
        let directory = "\(ipamDir)/\(configuration.bridgeName)"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return false }
        for name in names where name.first?.isNumber == true {
            if let content = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8),
                content.split(whereSeparator: \.isNewline).first.map(String.init) == containerID
            {
                return true
            }
        }
        return false
    }

    /// Container ids holding an address whose id starts with `prefix`.
    func reservations(withPrefix prefix: String) -> [String] {
        let directory = "\(ipamDir)/\(configuration.bridgeName)"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { $0.first?.isNumber == true }.compactMap { name in
            (try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8))?
                .split(whereSeparator: \.isNewline).first.map(String.init)
        }.filter { $0.hasPrefix(prefix) }
    }

    /// Sets the bridge port `isolated`: isolated ports forward only to non-isolated ones
    /// (the bridge itself), so instances cannot reach each other at layer 2.
    func isolate(port: String) throws(RuntimeError) {
        let path = "/sys/class/net/\(port)/brport/isolated"
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError(.network, "cannot open \(path): \(Errno.text(errno))") }
        defer { close(fd) }
        guard write(fd, "1", 1) == 1 else {
            throw RuntimeError(.network, "cannot isolate bridge port \(port): \(Errno.text(errno))")
        }
    }

    /// Deletes the bridge; a missing one is success.
    func deleteBridge() async throws(RuntimeError) {
        guard access("/sys/class/net/\(configuration.bridgeName)", F_OK) == 0 else { return }
        let output = try await HelperCommand.run("ip", ["link", "delete", configuration.bridgeName, "type", "bridge"])
        guard output.succeeded || access("/sys/class/net/\(configuration.bridgeName)", F_OK) != 0 else {
            throw RuntimeError(.network, "cannot delete bridge \(configuration.bridgeName): \(output.diagnostic)")
        }
    }

    private func runPlugin(command: String, containerID: String, netnsPath: String, config: String)
        async throws(RuntimeError) -> HelperCommand.Output
    {
        let environment = [
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": containerID,
            "CNI_NETNS": netnsPath,
            "CNI_IFNAME": Self.interfaceName,
            "CNI_PATH": configuration.cniBinDir,
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        return try await HelperCommand.run(
            "\(configuration.cniBinDir)/bridge", [], environment: environment, input: config)
    }

    private static func pluginMessage(_ output: HelperCommand.Output) -> String {
        if let error = try? JSONDecoder().decode(CNIErrorResult.self, from: Data(output.standardOutput.utf8)),
            let message = error.msg
        {
            return [message, error.details].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        }
        let text = output.diagnostic
        return text.isEmpty ? "exit \(output.status)" : text
    }

    private static func adding(previousResult: String, to config: String) -> String? {
        guard var object = try? JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any],
            let previous = try? JSONSerialization.jsonObject(with: Data(previousResult.utf8))
        else { return nil }
        object["prevResult"] = previous
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
