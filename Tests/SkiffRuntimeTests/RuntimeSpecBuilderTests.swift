import Foundation
import SkiffOCI
import Testing

@testable import SkiffRuntime

@Suite struct RuntimeSpecBuilderTests {
    let root = UserDatabase.Identity(uid: 0, gid: 0, home: "/root")

    struct CommandCase: Sendable, CustomTestStringConvertible {
        var entrypoint: [String]?
        var cmd: [String]?
        var command: [String]?
        var args: [String]?
        var expected: [String]
        var testDescription: String { "\(entrypoint ?? []) \(cmd ?? []) \(command ?? []) \(args ?? []) -> \(expected)" }
    }

    @Test(arguments: [
        CommandCase(entrypoint: ["/ep"], cmd: ["c1"], command: nil, args: nil, expected: ["/ep", "c1"]),
        CommandCase(entrypoint: ["/ep"], cmd: ["c1"], command: ["/cmd"], args: nil, expected: ["/cmd"]),
        CommandCase(
            entrypoint: ["/ep"], cmd: ["c1"], command: nil, args: ["a1", "a2"], expected: ["/ep", "a1", "a2"]),
        CommandCase(entrypoint: ["/ep"], cmd: ["c1"], command: ["/cmd"], args: ["a1"], expected: ["/cmd", "a1"]),
        CommandCase(entrypoint: nil, cmd: ["/c", "x"], command: nil, args: nil, expected: ["/c", "x"]),
        CommandCase(entrypoint: nil, cmd: ["/c"], command: nil, args: ["/a"], expected: ["/a"]),
        CommandCase(entrypoint: ["/ep"], cmd: ["c1"], command: [], args: [], expected: ["/ep", "c1"]),
        CommandCase(entrypoint: [], cmd: [], command: nil, args: nil, expected: []),
    ])
    func commandLineFollowsKubernetesRules(_ c: CommandCase) {
        #expect(
            RuntimeSpecBuilder.processArguments(entrypoint: c.entrypoint, cmd: c.cmd, command: c.command, args: c.args)
                == c.expected)
    }

    @Test func environmentLayersImageThenServiceThenPort() {
        let env = RuntimeSpecBuilder.environment(
            image: ["PATH=/img/bin", "A=image", "B=image", "PORT=1", "MALFORMED", "EQ=x=y"],
            service: ["B": "service", "C": "service", "PORT": "2"], port: 8080, home: "/home/app")
        #expect(env == ["PATH=/img/bin", "A=image", "B=service", "PORT=8080", "EQ=x=y", "C=service", "HOME=/home/app"])
    }

    @Test func environmentDefaultsPathAndKeepsServiceHome() {
        let env = RuntimeSpecBuilder.environment(image: nil, service: ["HOME": "/data"], port: 9000, home: "/root")
        #expect(env == ["HOME=/data", "PORT=9000", "PATH=\(RuntimeSpecBuilder.defaultPath)"])
    }

    @Test func buildsConfinedConfigFromImageAndSpec() throws {
        let image = ImageConfig.ExecutionConfig(
            User: "app", Env: ["MODE=image"], Entrypoint: ["/bin/server"], Cmd: ["--default"], WorkingDir: "/srv")
        let spec = InstanceSpec(
            id: "web-7f3a9c2e", lowerDirs: ["/s/base", "/s/top"], image: image, args: ["--flag"], env: ["MODE": "svc"],
            port: 8081, memoryLimitBytes: 256 << 20, cpuMillis: 500, pidsLimit: 64)
        let user = UserDatabase.Identity(uid: 1000, gid: 1000, additionalGids: [27], home: "/home/app")
        let builder = RuntimeSpecBuilder(cgroupParent: "skiff", openFilesLimit: 20000)
        let config = try builder.build(
            spec, user: user, networkNamespace: "/run/netns/skiff-web-7f3a9c2e",
            files: .init(hosts: "/b/hosts", hostname: "/b/hostname"))

        let process = try #require(config.process)
        #expect(process.args == ["/bin/server", "--flag"])
        #expect(process.env == ["MODE=svc", "PORT=8081", "PATH=\(RuntimeSpecBuilder.defaultPath)", "HOME=/home/app"])
        #expect(process.cwd == "/srv")
        #expect(process.user == RuntimeSpec.User(uid: 1000, gid: 1000, additionalGids: [27]))
        #expect(process.terminal == false)
        #expect(process.noNewPrivileges == true)
        #expect(process.rlimits == [RuntimeSpec.Rlimit(type: "RLIMIT_NOFILE", hard: 20000, soft: 20000)])
        let caps = try #require(process.capabilities)
        #expect(caps.bounding == SecurityDefaults.capabilities)
        #expect(caps.effective == SecurityDefaults.capabilities)
        #expect(caps.permitted == SecurityDefaults.capabilities)
        #expect(caps.inheritable == nil)
        #expect(caps.ambient == [])
        for dropped in ["CAP_NET_RAW", "CAP_MKNOD", "CAP_SYS_ADMIN", "CAP_SYS_CHROOT", "CAP_NET_ADMIN"] {
            #expect(!caps.bounding!.contains(dropped))
        }

        #expect(config.hostname == "web-7f3a9c2e")
        #expect(config.root == RuntimeSpec.Root(path: "rootfs", readonly: false))
        let linux = try #require(config.linux)
        #expect(linux.cgroupsPath == "/skiff/web-7f3a9c2e")
        #expect(
            linux.namespaces == [
                .init(type: "pid"), .init(type: "mount"), .init(type: "uts"), .init(type: "ipc"),
                .init(type: "network", path: "/run/netns/skiff-web-7f3a9c2e"),
            ])
        #expect(linux.resources?.memory == RuntimeSpec.Memory(limit: 256 << 20, swap: 256 << 20))
        #expect(linux.resources?.cpu == RuntimeSpec.CPU(shares: 512, quota: 50_000, period: 100_000))
        #expect(linux.resources?.pids == RuntimeSpec.Pids(limit: 64))
        #expect(linux.resources?.devices == [RuntimeSpec.DeviceCgroup(allow: false, access: "rwm")])
        #expect(linux.maskedPaths?.contains("/proc/kcore") == true)
        #expect(linux.maskedPaths?.contains("/sys/firmware") == true)
        #expect(linux.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        #expect(linux.seccomp?.defaultAction == "SCMP_ACT_ALLOW")

        let destinations = config.mounts?.map(\.destination)
        #expect(
            destinations == [
                "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/etc/hosts", "/etc/hostname",
            ])
        let sys = try #require(config.mounts?.first { $0.destination == "/sys" })
        #expect(Set(sys.options ?? []).isSuperset(of: ["ro", "nosuid", "noexec", "nodev"]))
        #expect(config.mounts?.last?.source == "/b/hostname")
    }

    @Test func encodesRuntimeSpecJSONKeys() throws {
        let spec = InstanceSpec(id: "a1", lowerDirs: [], command: ["/x"], port: 80)
        let config = try RuntimeSpecBuilder().build(spec, user: root, networkNamespace: "/run/netns/skiff-a1")
        let data = try JSONEncoder().encode(config)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["ociVersion"] as? String == RuntimeSpec.version)
        let process = try #require(object["process"] as? [String: Any])
        #expect(process["noNewPrivileges"] as? Bool == true)
        let capabilities = try #require(process["capabilities"] as? [String: Any])
        #expect(capabilities["inheritable"] == nil)
        let linux = try #require(object["linux"] as? [String: Any])
        #expect(linux["cgroupsPath"] as? String == "/skiff/a1")
        let resources = try #require(linux["resources"] as? [String: Any])
        #expect(resources["memory"] == nil)
        #expect(resources["cpu"] == nil)
        #expect((resources["pids"] as? [String: Any])?["limit"] as? Int == RuntimeSpecBuilder.defaultPidsLimit)
        #expect(try JSONDecoder().decode(RuntimeSpec.self, from: data) == config)
    }

    @Test(arguments: [(1000, 100_000, 1024), (250, 25_000, 256), (2500, 250_000, 2560), (1, 1000, 2)])
    func convertsCPUMillisToQuotaAndShares(millis: Int, quota: Int64, shares: UInt64) throws {
        let spec = InstanceSpec(id: "c", lowerDirs: [], command: ["/x"], cpuMillis: millis)
        let config = try RuntimeSpecBuilder().build(spec, user: root, networkNamespace: "/n")
        #expect(config.linux?.resources?.cpu == RuntimeSpec.CPU(shares: shares, quota: quota, period: 100_000))
    }

    @Test func workingDirFromSpecWinsOverImage() throws {
        let spec = InstanceSpec(
            id: "w", lowerDirs: [], image: .init(Cmd: ["/x"], WorkingDir: "/img"), workingDir: "/svc")
        #expect(try RuntimeSpecBuilder().build(spec, user: root, networkNamespace: "/n").process?.cwd == "/svc")
        let defaulted = InstanceSpec(id: "w", lowerDirs: [], image: .init(Cmd: ["/x"]))
        #expect(try RuntimeSpecBuilder().build(defaulted, user: root, networkNamespace: "/n").process?.cwd == "/")
    }

    @Test func keepsStopSignalAsAnnotation() throws {
        var image = ImageConfig.ExecutionConfig(Cmd: ["/x"])
        image.StopSignal = "SIGQUIT"
        let spec = InstanceSpec(id: "s", lowerDirs: [], image: image)
        let config = try RuntimeSpecBuilder().build(spec, user: root, networkNamespace: "/n")
        #expect(config.annotations?[RuntimeSpecBuilder.stopSignalAnnotation] == "3")
    }

    @Test func rejectsInstanceWithoutCommand() {
        let spec = InstanceSpec(id: "empty", lowerDirs: [], image: .init(Env: ["A=1"]))
        let error = #expect(throws: RuntimeError.self) {
            try RuntimeSpecBuilder().build(spec, user: root, networkNamespace: "/n")
        }
        #expect(error?.code == .invalidSpec)
        #expect(error?.message.contains("no command") == true)
    }

    @Test(arguments: [
        (InstanceSpec(id: "r", lowerDirs: [], command: ["/x"], workingDir: "relative"), "not an absolute path"),
        (InstanceSpec(id: "r", lowerDirs: [], command: ["/x"], port: 70000), "port 70000"),
        (InstanceSpec(id: "r", lowerDirs: [], command: ["/x"], memoryLimitBytes: 1000), "below 4 MiB"),
        (InstanceSpec(id: "r", lowerDirs: [], command: ["/x"], cpuMillis: 0), "not positive"),
    ])
    func rejectsInvalidSettings(spec: InstanceSpec, message: String) {
        let error = #expect(throws: RuntimeError.self) {
            try RuntimeSpecBuilder().build(spec, user: root, networkNamespace: "/n")
        }
        #expect(error?.message.contains(message) == true)
    }
}
