public import SkiffOCI

/// Turns an ``InstanceSpec`` and its image config into the OCI runtime `config.json`: a pure
/// function, so every precedence rule and conversion is testable without containers.
///
/// - Command line, Kubernetes semantics: `command` replaces `Entrypoint` (and drops `Cmd`),
///   `args` replaces `Cmd`; an empty list counts as unset.
/// - Environment: image `Env`, then service env, then `PORT`; `PATH` and `HOME` get
///   defaults when neither sets them. Order: the image's first, then new keys sorted.
/// - CPU: `quota = millis × period / 1000` with a 100 ms period; `shares = millis × 1024 / 1000`.
/// - Memory: `limit` and `swap` both set to the limit, so the instance cannot swap.
public struct RuntimeSpecBuilder: Sendable {
    /// The default maximum number of tasks per instance.
    public static let defaultPidsLimit = 1024
    /// The CFS period, in microseconds (the kernel's default).
    public static let cpuPeriod: UInt64 = 100_000
    /// Docker's default `PATH` for images that set none.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// The annotation that keeps the image's stop signal (a number) for ``RuncRuntime/stop(instanceID:grace:)``.
    public static let stopSignalAnnotation = "dev.skiff.stop-signal"

    /// The cgroup parent: instance `ID` gets `cgroupsPath` `/PARENT/ID`.
    public var cgroupParent: String
    /// `RLIMIT_NOFILE`, soft and hard. Must not exceed the caller's hard limit when the
    /// runtime lacks `CAP_SYS_RESOURCE` (runc sets it with `prlimit` from outside).
    public var openFilesLimit: UInt64
    /// Whether to install ``SecurityDefaults/seccomp``.
    public var seccomp: Bool

    public init(cgroupParent: String = "skiff", openFilesLimit: UInt64 = 1_048_576, seccomp: Bool = true) {
        self.cgroupParent = cgroupParent
        self.openFilesLimit = openFilesLimit
        self.seccomp = seccomp
    }

    /// Files from the bundle bound into the container, read-only.
    public struct BoundFiles: Sendable, Hashable {
        /// Becomes /etc/hosts.
        public var hosts: String?
        /// Becomes /etc/hostname.
        public var hostname: String?

        public init(hosts: String? = nil, hostname: String? = nil) {
            self.hosts = hosts
            self.hostname = hostname
        }
    }

    /// The complete configuration for `spec`, with the rootfs at `BUNDLE/rootfs`.
    public func build(
        _ spec: InstanceSpec, user: UserDatabase.Identity, networkNamespace: String, files: BoundFiles = BoundFiles()
    ) throws(RuntimeError) -> RuntimeSpec {
        let arguments = Self.processArguments(
            entrypoint: spec.image?.Entrypoint, cmd: spec.image?.Cmd, command: spec.command, args: spec.args)
        guard !arguments.isEmpty else {
            throw RuntimeError(
                .invalidSpec,
                "instance \(spec.id) has no command: the image sets neither Entrypoint nor Cmd and the service sets neither command nor args"
            )
        }
        let cwd =
            spec.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? spec.image?.WorkingDir.flatMap {
                $0.isEmpty ? nil : $0
            } ?? "/"
        guard cwd.hasPrefix("/") else {
            throw RuntimeError(.invalidSpec, "instance \(spec.id): working directory `\(cwd)` is not an absolute path")
        }
        guard (1...65535).contains(spec.port) else {
            throw RuntimeError(.invalidSpec, "instance \(spec.id): port \(spec.port) is not between 1 and 65535")
        }

        let capabilities = SecurityDefaults.capabilities
        let process = RuntimeSpec.Process(
            terminal: false,
            user: RuntimeSpec.User(
                uid: user.uid, gid: user.gid, additionalGids: user.additionalGids.isEmpty ? nil : user.additionalGids),
            args: arguments,
            env: Self.environment(image: spec.image?.Env, service: spec.env, port: spec.port, home: user.home),
            cwd: cwd,
            capabilities: RuntimeSpec.Capabilities(
                bounding: capabilities, effective: capabilities, permitted: capabilities, inheritable: nil, ambient: []),
            rlimits: [RuntimeSpec.Rlimit(type: "RLIMIT_NOFILE", hard: openFilesLimit, soft: openFilesLimit)],
            noNewPrivileges: true)

        var mounts = Self.baseMounts
        if let hosts = files.hosts {
            mounts.append(
                .init(
                    destination: "/etc/hosts", type: "bind", source: hosts,
                    options: ["rbind", "ro", "nosuid", "nodev", "noexec"]))
        }
        if let hostname = files.hostname {
            mounts.append(
                .init(
                    destination: "/etc/hostname", type: "bind", source: hostname,
                    options: ["rbind", "ro", "nosuid", "nodev", "noexec"]))
        }

        let linux = RuntimeSpec.Linux(
            namespaces: [
                .init(type: "pid"), .init(type: "mount"), .init(type: "uts"), .init(type: "ipc"),
                .init(type: "network", path: networkNamespace),
            ],
            resources: try Self.resources(spec),
            cgroupsPath: "/\(cgroupParent)/\(spec.id)",
            maskedPaths: SecurityDefaults.maskedPaths,
            readonlyPaths: SecurityDefaults.readonlyPaths,
            seccomp: seccomp ? SecurityDefaults.seccomp : nil)

        var annotations: [String: String] = [:]
        if let value = spec.image?.StopSignal {
            guard let number = StopSignal.number(value) else {
                throw RuntimeError(
                    .invalidSpec, "instance \(spec.id): unknown StopSignal `\(value)` in the image config")
            }
            annotations[Self.stopSignalAnnotation] = String(number)
        }
        return RuntimeSpec(
            process: process, root: RuntimeSpec.Root(path: "rootfs", readonly: false), hostname: spec.id,
            mounts: mounts, linux: linux, annotations: annotations.isEmpty ? nil : annotations)
    }

    /// The command line by Kubernetes rules: `command` replaces `Entrypoint` and drops
    /// `Cmd`; `args` replaces `Cmd`. Empty lists count as unset.
    public static func processArguments(entrypoint: [String]?, cmd: [String]?, command: [String]?, args: [String]?)
        -> [String]
    {
        func set(_ list: [String]?) -> [String]? { (list?.isEmpty ?? true) ? nil : list }
        if let command = set(command) {
            return command + (set(args) ?? [])
        }
        return (set(entrypoint) ?? []) + (set(args) ?? set(cmd) ?? [])
    }

    /// `KEY=value` entries: image first, overridden by the service, then `PORT`.
    public static func environment(image: [String]?, service: [String: String], port: Int, home: String) -> [String] {
        var keys: [String] = []
        var values: [String: String] = [:]
        func set(_ key: String, _ value: String) {
            if values.updateValue(value, forKey: key) == nil { keys.append(key) }
        }
        for entry in image ?? [] {
            guard let equals = entry.firstIndex(of: "=") else { continue }
            let key = String(entry[..<equals])
            guard !key.isEmpty else { continue }
            set(key, String(entry[entry.index(after: equals)...]))
        }
        for key in service.keys.sorted() { set(key, service[key] ?? "") }
        set("PORT", String(port))
        if values["PATH"] == nil { set("PATH", defaultPath) }
        if values["HOME"] == nil { set("HOME", home) }
        return keys.map { "\($0)=\(values[$0] ?? "")" }
    }

    static func resources(_ spec: InstanceSpec) throws(RuntimeError) -> RuntimeSpec.Resources {
        var memory: RuntimeSpec.Memory?
        if let limit = spec.memoryLimitBytes {
            guard limit >= 4 * 1024 * 1024 else {
                throw RuntimeError(.invalidSpec, "instance \(spec.id): memory limit \(limit) bytes is below 4 MiB")
            }
            memory = RuntimeSpec.Memory(limit: limit, swap: limit)
        }
        var cpu: RuntimeSpec.CPU?
        if let millis = spec.cpuMillis {
            guard millis > 0 else {
                throw RuntimeError(.invalidSpec, "instance \(spec.id): cpu \(millis)m is not positive")
            }
            // The kernel refuses quotas below 1 ms.
            let quota = max(Int64(millis) * Int64(cpuPeriod) / 1000, 1000)
            cpu = RuntimeSpec.CPU(shares: UInt64(max(millis * 1024 / 1000, 2)), quota: quota, period: cpuPeriod)
        }
        let pids = spec.pidsLimit ?? defaultPidsLimit
        guard pids > 0 else {
            throw RuntimeError(.invalidSpec, "instance \(spec.id): pids limit \(pids) is not positive")
        }
        // Deny every device, then runc adds its defaults (null, zero, full, tty, random, urandom, ptmx).
        return RuntimeSpec.Resources(
            devices: [RuntimeSpec.DeviceCgroup(allow: false, access: "rwm")], memory: memory, cpu: cpu,
            pids: RuntimeSpec.Pids(limit: Int64(pids)))
    }

    /// runc's default mounts with Docker's options.
    static let baseMounts: [RuntimeSpec.Mount] = [
        .init(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
        .init(
            destination: "/dev", type: "tmpfs", source: "tmpfs",
            options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        .init(
            destination: "/dev/pts", type: "devpts", source: "devpts",
            options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        .init(
            destination: "/dev/shm", type: "tmpfs", source: "shm",
            options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        .init(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
    ]
}
