import Foundation

/// What a server may leave on the machine: checked after every end-to-end test.
public enum Leaks {
    /// Runs a command and returns its stdout (empty when it cannot start).
    public static func run(_ arguments: [String]) async -> String {
        (try? await ChildProcess.run("/usr/bin/env", arguments))?.stdout ?? ""
    }

    /// Runs a command and returns its exit status.
    public static func status(_ arguments: [String]) async -> Int32 {
        (try? await ChildProcess.run("/usr/bin/env", arguments))?.status ?? -1
    }

    /// Everything of this server's still present: containers, mounts, netns, cgroups, bridge, rules.
    /// `bridge` nil skips the network-wide checks, for a server that is still running.
    public static func find(bridge: String?, dataDir: String) async -> [String] {
        var leaks: [String] = []
        // runc containers whose bundle is in this data dir.
        do {
            for container in try await RuncList.containers() where container.bundle.hasPrefix(dataDir) {
                leaks.append("runc container \(container.id)")
            }
        } catch {
            leaks.append("unknown containers: \(error)")
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") where line.contains(dataDir) {
            leaks.append("mount \(line)")
        }
        let instances = instanceIDs(dataDir: dataDir)
        let netns = await run(["ip", "netns", "list"])
        for id in instances where netns.contains(id) { leaks.append("netns of \(id)") }
        for id in instances {
            for controller in ["memory", "pids", "cpu", "freezer"]
            where FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)/skiff/\(id)") {
                leaks.append("cgroup \(controller)/skiff/\(id)")
            }
        }
        if let bridge {
            // The network namespaces the server keeps attached ahead of time.
            for line in netns.split(separator: "\n") where line.hasPrefix("skiffpool-\(bridge)-") {
                leaks.append("pooled netns \(line.split(separator: " ").first ?? "")")
            }
            if await !run(["ip", "link", "show", bridge]).isEmpty { leaks.append("bridge \(bridge)") }
            if await run(["iptables", "-S"]).contains(bridge) { leaks.append("iptables rules for \(bridge)") }
        }
        return leaks
    }

    /// Instance ids this server ever had, from its instance and log directories.
    public static func instanceIDs(dataDir: String) -> [String] {
        var ids = Set<String>()
        for directory in ["instances", "logs"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(dataDir)/\(directory)")) ?? [] {
                ids.insert(name.components(separatedBy: ".").first ?? name)
            }
        }
        return ids.sorted()
    }

    /// Last resort so one failing test does not poison the machine for the next.
    public static func forceClean(bridge: String, dataDir: String) async {
        for container in (try? await RuncList.containers()) ?? [] where container.bundle.hasPrefix(dataDir) {
            _ = await run(["runc", "delete", "--force", container.id])
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") where line.contains(dataDir) {
            let fields = line.split(separator: " ")
            if fields.count > 1 { _ = await run(["umount", "-l", String(fields[1])]) }
        }
        for id in instanceIDs(dataDir: dataDir) {
            _ = await run(["ip", "netns", "delete", "skiff-\(id)"])
            for controller in ["memory", "pids", "cpu", "cpuacct", "freezer", "cpuset", "devices", "blkio", "systemd"] {
                rmdir("/sys/fs/cgroup/\(controller)/skiff/\(id)")
            }
        }
        _ = await run(["ip", "link", "delete", bridge])
        let chain = "SKIFF-\(bridge)"
        _ = await run(["iptables", "-D", "INPUT", "-i", bridge, "-j", chain])
        _ = await run(["iptables", "-D", "FORWARD", "-i", bridge, "-j", chain])
        _ = await run(["iptables", "-F", chain])
        _ = await run(["iptables", "-X", chain])
    }
}
