import Foundation
import Glibc
public import Logging
import SkiffOCI
import Synchronization

/// Runs instances as OCI containers with runc (or any runtime with runc's CLI).
///
/// Per instance `ID` it makes, in this order, and removes in reverse:
/// - `INSTANCES/ID/`: the bundle, with `config.json`, `upper/` and `work/` of the overlay,
///   the `rootfs/` mount point, `hosts`, `hostname`, `network.json` (the CNI result),
///   `init.pid` and `runc.log` (runc's own JSON log);
/// - the network namespace `/run/netns/skiff-ID`, attached to the bridge by CNI;
/// - the overlay mount on `INSTANCES/ID/rootfs`;
/// - the runc container `skiff-ID` (the prefix keeps Skiff's containers apart in
///   `runc list`), with cgroups `/sys/fs/cgroup/CONTROLLER/skiff/ID`.
///
/// runc keeps its state in its default root (`/run/runc`) unless
/// ``RuntimeConfiguration/runtimeRoot`` says otherwise, so operators see instances with
/// plain `runc list`. The container's stdout and stderr are appended to `LOGS/ID.log`,
/// which outlives the instance, within the ``LogPolicy`` (see ``maintainLogs(live:)``).
public final class RuncRuntime: ContainerRuntime {
    /// Prefix of runc container ids and network namespace names.
    public static let namePrefix = "skiff-"

    public let configuration: RuntimeConfiguration
    let logger: Logger
    let network: BridgeNetwork
    let firewall: HostFirewall
    let builder: RuntimeSpecBuilder
    let firewallGate = OnceGate()
    let processes = Mutex<[String: ProcessIdentity]>([:])
    /// Network namespaces attached ahead of time (see ``NetworkPool``).
    let prepared = Mutex<[PreparedNetwork]>([])
    let poolOpen = Atomic<Bool>(false)
    let poolRefills: AsyncStream<Void>
    let poolRefillsContinuation: AsyncStream<Void>.Continuation

    /// Creates the instances, logs and CNI state directories (mode 0700) if missing.
    public init(configuration: RuntimeConfiguration, logger: Logger = Logger(label: "skiff.runtime"))
        throws(RuntimeError)
    {
        self.configuration = configuration
        self.logger = logger
        (poolRefills, poolRefillsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        network = BridgeNetwork(configuration: configuration.network)
        firewall = HostFirewall(configuration: configuration.network)
        builder = RuntimeSpecBuilder(cgroupParent: configuration.cgroupParent, openFilesLimit: Self.openFilesLimit())
        guard configuration.network.bridgeName.utf8.count <= 15, !configuration.network.bridgeName.isEmpty else {
            throw RuntimeError(
                .invalidSpec, "bridge name `\(configuration.network.bridgeName)` must have 1 to 15 characters")
        }
        for directory in [configuration.instancesDir, configuration.logsDir, configuration.network.cniStateDir] {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw RuntimeError(.io, "cannot create \(directory)", cause: error)
            }
        }
    }

    // MARK: Names and paths

    /// The runc container id of an instance.
    public func containerID(for instanceID: String) -> String { Self.namePrefix + instanceID }
    /// The network namespace name of an instance (`/run/netns/NAME`).
    public func networkNamespace(for instanceID: String) -> String { Self.namePrefix + instanceID }
    /// The bundle directory of an instance.
    public func bundlePath(for instanceID: String) -> String { "\(configuration.instancesDir)/\(instanceID)" }
    /// The file the instance's stdout and stderr are appended to. It stays after ``stop(instanceID:grace:)``.
    public func logPath(for instanceID: String) -> String { logs.path(instanceID) }

    var logs: InstanceLogs { InstanceLogs(directory: configuration.logsDir) }
    /// The instance's directory in the v1 hierarchy of `controller`.
    func cgroupPath(_ controller: String, _ instanceID: String) -> String {
        "/sys/fs/cgroup/\(controller)/\(configuration.cgroupParent)/\(instanceID)"
    }

    /// runc's global arguments: `--root` when configured.
    var runcGlobalArguments: [String] {
        configuration.runtimeRoot.map { ["--root", $0] } ?? []
    }

    /// Ids become file, cgroup, netns and container names: DNS-label characters only.
    static func validate(instanceID id: String) throws(RuntimeError) {
        let allowed = id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        guard allowed, (1...48).contains(id.utf8.count), id.first != "-" else {
            throw RuntimeError(
                .invalidSpec, "instance id `\(id)` must be 1 to 48 of a-z, 0-9 and -, not starting with -")
        }
    }

    /// `RLIMIT_NOFILE` for instances: 1048576 (nr_open's default ceiling), but never above
    /// this process's hard limit when it lacks `CAP_SYS_RESOURCE`: runc applies it with
    /// `prlimit` from outside, and raising a hard limit needs that capability.
    static func openFilesLimit() -> UInt64 {
        let wanted: UInt64 = 1_048_576
        if hasCapability(24) { return wanted }  // CAP_SYS_RESOURCE
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return min(wanted, UInt64(limit.rlim_max))
    }

    private static func hasCapability(_ bit: UInt64) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << bit) != 0
    }
}
