import Foundation

/// What a server may leave on the machine: checked after every end-to-end test.
enum Leaks {
    static func run(_ arguments: [String]) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs a command and returns its exit status.
    static func status(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Everything of this server's still present: containers, mounts, netns, cgroups, bridge, rules.
    /// `bridge` nil skips the network-wide checks, for a server that is still running.
    static func find(bridge: String?, dataDir: String) -> [String] {
        var leaks: [String] = []
        // runc containers whose bundle is in this data dir.
        let list = run(["runc", "list", "--format", "json"])
        if let data = list.data(using: .utf8),
            let containers = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        {
            for container in containers where (container["bundle"] as? String)?.hasPrefix(dataDir) == true {
                leaks.append("runc container \(container["id"] ?? "?")")
            }
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") where line.contains(dataDir) {
            leaks.append("mount \(line)")
        }
        let instances = instanceIDs(dataDir: dataDir)
        let netns = run(["ip", "netns", "list"])
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
            if !run(["ip", "link", "show", bridge]).isEmpty { leaks.append("bridge \(bridge)") }
            if run(["iptables", "-S"]).contains(bridge) { leaks.append("iptables rules for \(bridge)") }
        }
        return leaks
    }

    /// Instance ids this server ever had, from its instance and log directories.
    static func instanceIDs(dataDir: String) -> [String] {
        var ids = Set<String>()
        for directory in ["instances", "logs"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(dataDir)/\(directory)")) ?? [] {
                ids.insert(name.components(separatedBy: ".").first ?? name)
            }
        }
        return ids.sorted()
    }

    /// Last resort so one failing test does not poison the machine for the next.
    static func forceClean(bridge: String, dataDir: String) {
        let list = run(["runc", "list", "--format", "json"])
        if let data = list.data(using: .utf8),
            let containers = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        {
            for container in containers where (container["bundle"] as? String)?.hasPrefix(dataDir) == true {
                if let id = container["id"] as? String { _ = run(["runc", "delete", "--force", id]) }
            }
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") where line.contains(dataDir) {
            let fields = line.split(separator: " ")
            if fields.count > 1 { _ = run(["umount", "-l", String(fields[1])]) }
        }
        for id in instanceIDs(dataDir: dataDir) {
            _ = run(["ip", "netns", "delete", "skiff-\(id)"])
            for controller in ["memory", "pids", "cpu", "cpuacct", "freezer", "cpuset", "devices", "blkio", "systemd"] {
                rmdir("/sys/fs/cgroup/\(controller)/skiff/\(id)")
            }
        }
        _ = run(["ip", "link", "delete", bridge])
        let chain = "SKIFF-\(bridge)"
        _ = run(["iptables", "-D", "INPUT", "-i", bridge, "-j", chain])
        _ = run(["iptables", "-D", "FORWARD", "-i", bridge, "-j", chain])
        _ = run(["iptables", "-F", chain])
        _ = run(["iptables", "-X", chain])
    }
}
