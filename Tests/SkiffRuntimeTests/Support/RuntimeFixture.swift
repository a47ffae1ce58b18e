import Foundation
import Glibc
import Logging
import SkiffOCI
import SkiffTestSupport
import Synchronization
import Testing

@testable import SkiffRuntime

/// A runtime on a private bridge and subnet with a temp data dir, plus a two-layer busybox
/// image. `withRuntime` removes every instance, the firewall chain, the bridge and the dir,
/// then asserts nothing of the fixture is left on the machine.
struct RuntimeFixture {
    let directory: TemporaryDirectory
    var dataDir: String { directory.path }
    let bridge: String
    let subnetPrefix: String
    let configuration: RuntimeConfiguration
    let runtime: RuncRuntime
    /// Base layer (busybox, /etc) and top layer (/www with a CGI script).
    let layers: [String]

    var gateway: String { "\(subnetPrefix).1" }

    static func withRuntime(_ body: (RuntimeFixture) async throws -> Void) async throws {
        let fixture = try make()
        do {
            try await body(fixture)
        } catch {
            await fixture.cleanUp()
            throw error
        }
        await fixture.cleanUp()
        let leaks = await fixture.leaks()
        #expect(leaks.isEmpty, "left on the machine: \(leaks)")
    }

    /// Fixtures of one run get distinct /24s (a random pick collided now and then: two
    /// bridges on one subnet made one test reach the other's container), outside the
    /// end-to-end servers' 10.200–250 and the benchmarks' 10.251.
    private static let subnets = Atomic<Int>(Int.random(in: 0..<256))

    static func make() throws -> RuntimeFixture {
        let token = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let directory = try TemporaryDirectory()
        let dataDir = directory.path
        let bridge = "skt\(token.prefix(8))"
        let subnetPrefix = "10.199.\(subnets.wrappingAdd(1, ordering: .relaxed).newValue % 256)"
        let configuration = RuntimeConfiguration(
            instancesDir: dataDir + "/instances", logsDir: dataDir + "/logs",
            network: NetworkConfiguration(
                bridgeName: bridge, subnet: "\(subnetPrefix).0/24", cniStateDir: dataDir + "/cni"))
        let runtime = try RuncRuntime(configuration: configuration, logger: Logger(label: "test"))
        let layers = try makeImage(at: dataDir + "/snapshots")
        return RuntimeFixture(
            directory: directory, bridge: bridge, subnetPrefix: subnetPrefix, configuration: configuration,
            runtime: runtime,
            layers: layers)
    }

    /// An instance spec for the busybox image; by default `httpd` on $PORT serving /www.
    func spec(
        _ id: String, command: [String]? = nil, user: String? = nil, env: [String: String] = [:], port: Int = 8080,
        memory: Int64? = nil, cpuMillis: Int? = nil, pids: Int? = nil
    ) -> InstanceSpec {
        var image = ImageConfig.ExecutionConfig(
            User: user, Env: ["FROM_IMAGE=yes", "GREETING=image"], Entrypoint: ["/bin/sh", "-c"],
            Cmd: ["exec httpd -f -p \"$PORT\" -h /www"], WorkingDir: "/www")
        image.StopSignal = nil
        return InstanceSpec(
            id: id, lowerDirs: layers, image: image, command: command, env: env, port: port, memoryLimitBytes: memory,
            cpuMillis: cpuMillis, pidsLimit: pids)
    }

    /// A unique instance id for this test.
    static func id(_ name: String) -> String { "\(name)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))" }

    /// Waits until address:port accepts a connection (at most ~5 s).
    func waitUntilAccepting(_ instance: StartedInstance) async -> Bool {
        for _ in 0..<500 {
            if Host.accepts(instance.address, instance.port) { return true }
            if await !runtime.isRunning(instanceID: instance.id) { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// `runc exec` inside the instance; the container's user, capabilities and filter apply.
    func exec(_ id: String, _ arguments: [String]) async -> (status: Int32, output: String) {
        await Host.run(["runc", "exec", runtime.containerID(for: id)] + arguments)
    }

    /// An HTTP GET from inside instance `id` with busybox `nc` (its wget crashes on this
    /// build), bounded by `timeout`; the response, empty when the connection failed.
    func httpGet(from id: String, _ address: String, _ port: Int) async -> (status: Int32, output: String) {
        await exec(id, ["sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 3 nc -w 2 \(address) \(port)"])
    }

    func cleanUp() async {
        let ids = (try? await runtime.leftovers()) ?? []
        for id in ids {
            do {
                try await runtime.stop(instanceID: id, grace: .zero)
            } catch {
                Issue.record("cleanup: cannot stop \(id): \(error)")
            }
        }
        do {
            try await runtime.tearDownNetworkOrThrow()
        } catch {
            Issue.record("cleanup: cannot tear down the network: \(error)")
        }
        directory.remove()
    }

    /// Everything of this fixture still on the machine.
    func leaks() async -> [String] {
        var leaks: [String] = []
        do {
            let containers = try await RuncList.containers().filter { $0.bundle.hasPrefix(dataDir) }
            if !containers.isEmpty { leaks.append("runc containers: \(containers.map(\.id))") }
        } catch {
            leaks.append("unknown containers: \(error)")
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") where line.contains(dataDir) { leaks.append("mount \(line)") }
        if Host.exists("/sys/class/net/\(bridge)") { leaks.append("bridge \(bridge)") }
        let rules = await Host.run(["iptables", "-S"]).output
        if rules.contains(bridge) { leaks.append("iptables rules for \(bridge)") }
        if Host.exists(dataDir) { leaks.append("directory \(dataDir)") }
        return leaks
    }

    /// What an instance leaves if not removed: runc container, mount, netns, cgroups, bundle, address.
    func remnants(of id: String) async -> [String] {
        var found: [String] = []
        if await Host.run(["runc", "state", runtime.containerID(for: id)]).status == 0 {
            found.append("runc container")
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        if mounts.contains(runtime.bundlePath(for: id)) { found.append("overlay mount") }
        if Host.exists("/run/netns/\(runtime.networkNamespace(for: id))") { found.append("netns") }
        for controller in ["memory", "pids", "cpu", "cpuacct", "freezer", "devices", "blkio", "cpuset", "systemd"] {
            if Host.exists("/sys/fs/cgroup/\(controller)/skiff/\(id)") { found.append("cgroup \(controller)") }
        }
        if Host.exists(runtime.bundlePath(for: id)) { found.append("bundle dir") }
        if runtime.network.holdsAddress(containerID: runtime.containerID(for: id)) { found.append("IP reservation") }
        return found
    }

    private static func makeImage(at directory: String) throws -> [String] {
        let base = directory + "/base"
        let top = directory + "/top"
        let files = FileManager.default
        for path in [
            "\(base)/bin", "\(base)/etc", "\(base)/tmp", "\(base)/proc", "\(base)/sys", "\(base)/dev",
            "\(top)/www/cgi-bin", "\(top)/etc",
        ] {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        try files.copyItem(atPath: "/bin/busybox", toPath: "\(base)/bin/busybox")
        for applet in [
            "sh", "httpd", "nc", "wget", "cat", "sleep", "id", "hostname", "env", "grep", "echo", "ls", "true",
            "timeout", "printf",
        ] {
            try files.createSymbolicLink(atPath: "\(base)/bin/\(applet)", withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n".write(
            toFile: "\(base)/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(toFile: "\(base)/etc/group", atomically: false, encoding: .utf8)
        try "base\n".write(toFile: "\(base)/etc/layer", atomically: false, encoding: .utf8)
        try "top\n".write(toFile: "\(top)/etc/layer", atomically: false, encoding: .utf8)
        try "hello from skiff\n".write(toFile: "\(top)/www/index.html", atomically: false, encoding: .utf8)
        let cgi = """
            #!/bin/sh
            echo "Content-Type: text/plain"
            echo
            echo "hostname=$(hostname)"
            echo "layer=$(cat /etc/layer)"
            echo "uid=$(id -u)"
            grep CapEff /proc/self/status
            env

            """
        try cgi.write(toFile: "\(top)/www/cgi-bin/info", atomically: false, encoding: .utf8)
        chmod("\(top)/www/cgi-bin/info", 0o755)
        return [base, top]
    }
}
