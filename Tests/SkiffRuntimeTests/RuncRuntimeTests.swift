import Foundation
import Glibc
import Logging
import Testing

@testable import SkiffRuntime

/// Real containers with runc on a private bridge. Each test makes its own runtime, bridge
/// and subnet, so the tests run in parallel, and removes all of it even when failing.
@Suite(.enabled(if: Host.canRunContainers, "needs root, runc, CNI plugins and /bin/busybox"))
struct RuncRuntimeTests {
    @Test func servesHTTPWithSettingsLimitsAndMinimalCapabilities() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("web")
            let spec = fixture.spec(
                id, env: ["GREETING": "service", "PORT": "1"], port: 8081, memory: 64 << 20, cpuMillis: 250, pids: 50)
            let started = try await fixture.runtime.start(spec)
            #expect(started.id == id)
            #expect(started.address.hasPrefix(fixture.subnetPrefix + "."))
            #expect(started.port == 8081)
            #expect(started.pid > 0)
            #expect(await fixture.runtime.isRunning(instanceID: id))
            #expect(await fixture.waitUntilAccepting(started))

            let page = try #require(await Host.httpGet(started.address, started.port, "/"))
            #expect(page.hasPrefix("HTTP/1.") && page.contains("hello from skiff"))

            let info = try #require(await Host.httpGet(started.address, started.port, "/cgi-bin/info"))
            #expect(info.contains("hostname=\(id)\n"))
            #expect(info.contains("layer=top\n"))
            #expect(info.contains("uid=0\n"))
            #expect(info.contains("PORT=8081\n"))
            #expect(info.contains("GREETING=service\n"))
            #expect(info.contains("FROM_IMAGE=yes\n"))
            let capEff = String(format: "CapEff:\t%016llx", SecurityDefaults.capabilityMask)
            #expect(info.contains(capEff), "\(info)")

            // Limits are in the cgroup files.
            let cgroup = { (controller: String, file: String) in
                Host.read("/sys/fs/cgroup/\(controller)/skiff/\(id)/\(file)")
            }
            #expect(cgroup("memory", "memory.limit_in_bytes") == String(64 << 20))
            #expect(cgroup("pids", "pids.max") == "50")
            #expect(cgroup("cpu", "cpu.cfs_quota_us") == "25000")
            #expect(cgroup("cpu", "cpu.cfs_period_us") == "100000")

            // Inside: PID 1 is the server, /etc/hosts names the instance, NOFILE applied, no new privileges.
            let status = await fixture.exec(id, ["cat", "/proc/1/status"]).output
            #expect(status.contains("NoNewPrivs:\t1"))
            #expect(status.contains("Seccomp:\t2"))
            #expect(await fixture.exec(id, ["cat", "/etc/hosts"]).output.contains("\(started.address)\t\(id)"))
            let kcore = await fixture.exec(id, ["cat", "/proc/kcore"])
            #expect(kcore.status != 0 || kcore.output.isEmpty)
            #expect(await fixture.exec(id, ["sh", "-c", "echo 1 > /proc/sys/kernel/panic"]).status != 0)

            // Stats and freezer.
            let stats = try await fixture.runtime.stats(instanceID: id)
            #expect(stats.memoryBytes > 0)
            #expect(stats.cpuNanoseconds > 0)
            try await fixture.runtime.freeze(instanceID: id)
            #expect(cgroup("freezer", "freezer.state") == "FROZEN")
            try await fixture.runtime.thaw(instanceID: id)
            #expect(cgroup("freezer", "freezer.state") == "THAWED")
            #expect(await Host.httpGet(started.address, started.port, "/")?.contains("hello from skiff") == true)

            // Container output reaches the log file.
            try await fixture.runtime.stop(instanceID: id, grace: .seconds(1))
            let remnants = await fixture.remnants(of: id)
            #expect(remnants.isEmpty, "\(remnants)")
        }
    }

    @Test func runsAsTheImageUser() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("user")
            let started = try await fixture.runtime.start(fixture.spec(id, user: "nobody"))
            #expect(await fixture.waitUntilAccepting(started))
            let info = try #require(await Host.httpGet(started.address, started.port, "/cgi-bin/info"))
            #expect(info.contains("uid=65534\n"))
            #expect(info.contains("CapEff:\t0000000000000000"))
            #expect(info.contains("HOME=/nonexistent\n"))
            try await fixture.runtime.stop(instanceID: id, grace: .zero)
        }
    }

    /// What exec probes run on: the application's user, the command's exit code and output,
    /// and a command past its timeout killed, not left running in the instance.
    @Test func execRunsAsTheApplicationAndKillsACommandPastItsTimeout() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("exec")
            let started = try await fixture.runtime.start(fixture.spec(id, user: "nobody"))
            #expect(await fixture.waitUntilAccepting(started))
            let runtime = fixture.runtime
            #expect(
                try await runtime.exec(instanceID: id, command: ["id", "-u"], timeout: .seconds(10))
                    == .exited(0, output: "65534"))
            #expect(
                try await runtime.exec(
                    instanceID: id, command: ["sh", "-c", "echo out; exit 3"], timeout: .seconds(10))
                    == .exited(3, output: "out"))
            #expect(
                try await runtime.exec(instanceID: id, command: ["sleep", "120"], timeout: .seconds(1)) == .timedOut)
            let commands = await fixture.exec(id, ["sh", "-c", "cat /proc/[0-9]*/comm"]).output
            #expect(!commands.contains("sleep"), "\(commands)")
            // The timeout is the command's own: runc taking 2 s to start a command that
            // exits at once is no timeout of 1 s (a busy host must not fail liveness probes).
            let slowRunc = fixture.dataDir + "/slow-runc"
            let runc = Host.which("runc")
            try "#!/bin/sh\nsleep 2\nexec \(runc) \"$@\"\n".write(toFile: slowRunc, atomically: true, encoding: .utf8)
            chmod(slowRunc, 0o700)
            var slowConfiguration = fixture.configuration
            slowConfiguration.runtimeBinary = slowRunc
            let slow = try RuncRuntime(configuration: slowConfiguration, logger: Logger(label: "test"))
            #expect(
                try await slow.exec(instanceID: id, command: ["true"], timeout: .seconds(1)) == .exited(0, output: ""))
            // Nothing of the execs stays in the bundle.
            let bundle = try FileManager.default.contentsOfDirectory(atPath: runtime.bundlePath(for: id))
            #expect(!bundle.contains { $0.hasPrefix("exec-") }, "\(bundle)")
            try await runtime.stop(instanceID: id, grace: .zero)
        }
    }

    @Test func instancesReachNeitherEachOtherNorTheHost() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let a = RuntimeFixture.id("a")
            let b = RuntimeFixture.id("b")
            let first = try await fixture.runtime.start(fixture.spec(a))
            let second = try await fixture.runtime.start(fixture.spec(b))
            #expect(await fixture.waitUntilAccepting(first))
            #expect(await fixture.waitUntilAccepting(second))

            // The host reaches both.
            #expect(await Host.httpGet(second.address, second.port, "/")?.contains("hello from skiff") == true)
            // The client works inside: A reaches its own server.
            let own = await fixture.httpGet(from: a, first.address, first.port)
            #expect(own.output.contains("hello from skiff"), "\(own)")
            // A cannot reach B.
            let other = await fixture.httpGet(from: a, second.address, second.port)
            #expect(!other.output.contains("HTTP/1"), "\(other)")
            // Nor a port the host listens on at the bridge address: no connection arrives.
            let listener = try #require(Host.listen(on: fixture.gateway))
            defer { close(listener.fd) }
            let host = await fixture.exec(a, ["timeout", "3", "nc", "-w", "2", fixture.gateway, String(listener.port)])
            #expect(!Host.hasPendingConnection(listener.fd), "\(host)")
            // The same probe from the host side does arrive (the check can fail).
            #expect(Host.accepts(fixture.gateway, listener.port))
            #expect(Host.hasPendingConnection(listener.fd))

            try await fixture.runtime.stop(instanceID: a, grace: .zero)
            try await fixture.runtime.stop(instanceID: b, grace: .zero)
        }
    }

    @Test func stopRemovesEverythingAndIsIdempotent() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("stop")
            let started = try await fixture.runtime.start(fixture.spec(id))
            #expect(await fixture.waitUntilAccepting(started))
            #expect(await !fixture.remnants(of: id).isEmpty)

            try await fixture.runtime.stop(instanceID: id, grace: .seconds(2))
            let remnants = await fixture.remnants(of: id)
            #expect(remnants.isEmpty, "\(remnants)")
            #expect(await !fixture.runtime.isRunning(instanceID: id))
            // Stopping again, or an instance that never existed, succeeds.
            try await fixture.runtime.stop(instanceID: id, grace: .seconds(1))
            try await fixture.runtime.stop(instanceID: "never-started", grace: .zero)
            // The log file stays for `skiff logs`.
            #expect(Host.exists(fixture.runtime.logPath(for: id)))

            // The network teardown removes the chain and the bridge.
            #expect(Host.exists("/sys/class/net/\(fixture.bridge)"))
            try await fixture.runtime.tearDownNetworkOrThrow()
            #expect(!Host.exists("/sys/class/net/\(fixture.bridge)"))
            #expect(await !Host.run(["iptables", "-S"]).output.contains(fixture.bridge))
        }
    }

    @Test func exitedEntrypointIsDetectedAndItsOutputLogged() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("crash")
            let spec = fixture.spec(id, command: ["/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"])
            _ = try await fixture.runtime.start(spec)
            var running = true
            for _ in 0..<500 where running {
                running = await fixture.runtime.isRunning(instanceID: id)
                if running { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(!running)
            let log = Host.read(fixture.runtime.logPath(for: id)) ?? ""
            #expect(log.contains("to-stdout") && log.contains("to-stderr"), "\(log)")
            try await fixture.runtime.stop(instanceID: id, grace: .seconds(1))
            let remnants = await fixture.remnants(of: id)
            #expect(remnants.isEmpty, "\(remnants)")
        }
    }

    @Test func leftoversOfADroppedRuntimeAreFoundAndStopped() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("orphan")
            do {
                // A runtime object that goes away without stopping its instance, as in a crash.
                let crashed = try RuncRuntime(configuration: fixture.configuration)
                let started = try await crashed.start(fixture.spec(id))
                #expect(await fixture.waitUntilAccepting(started))
            }
            #expect(try await fixture.runtime.leftovers() == [id])
            #expect(await fixture.runtime.isRunning(instanceID: id))
            try await fixture.runtime.stop(instanceID: id, grace: .zero)
            #expect(try await fixture.runtime.leftovers() == [])
            let remnants = await fixture.remnants(of: id)
            #expect(remnants.isEmpty, "\(remnants)")
        }
    }

    @Test func missingBinaryFailsWithRuncMessageAndLeavesNothing() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("missing")
            let error = await #expect(throws: RuntimeError.self) {
                try await fixture.runtime.start(fixture.spec(id, command: ["/no/such/server"]))
            }
            #expect(error?.code == .runtime)
            #expect(error?.message.contains("/no/such/server") == true, "\(String(describing: error))")
            // The user sees why in the instance's log too.
            #expect(Host.read(fixture.runtime.logPath(for: id))?.contains("/no/such/server") == true)
            let remnants = await fixture.remnants(of: id)
            #expect(remnants.isEmpty, "\(remnants)")
        }
    }

    @Test func unknownUserFailsNamingItAndLeavesNothing() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("ghost")
            let error = await #expect(throws: RuntimeError.self) {
                try await fixture.runtime.start(fixture.spec(id, user: "ghost"))
            }
            #expect(error?.code == .unknownUser)
            #expect(error?.message.contains("`ghost`") == true)
            let remnants = await fixture.remnants(of: id)
            #expect(remnants.isEmpty, "\(remnants)")
        }
    }

    @Test func startRefusesAnExistingInstanceWithoutHarmingIt() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let id = RuntimeFixture.id("twice")
            let started = try await fixture.runtime.start(fixture.spec(id))
            let error = await #expect(throws: RuntimeError.self) { try await fixture.runtime.start(fixture.spec(id)) }
            #expect(error?.code == .alreadyExists)
            #expect(await fixture.waitUntilAccepting(started))
            try await fixture.runtime.stop(instanceID: id, grace: .zero)
        }
    }
}
