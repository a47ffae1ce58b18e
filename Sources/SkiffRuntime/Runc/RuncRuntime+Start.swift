import Foundation
import Glibc
import Logging
import SkiffOCI
import Subprocess
import Synchronization
import SystemPackage

extension RuncRuntime {
    /// Starts an instance: bundle directory, network namespace, then CNI in parallel with
    /// the overlay mount, user lookup, `config.json` and `runc create`; then `runc start`.
    /// Returns once runc has started the process; the caller probes the port for readiness.
    /// On failure everything made is removed again and the error carries runc's or the
    /// plugin's own message.
    public func start(_ spec: InstanceSpec) async throws(RuntimeError) -> StartedInstance {
        try Self.validate(instanceID: spec.id)
        let begin = ContinuousClock.now
        try await firewallGate.ensure { () async throws(RuntimeError) in try await self.firewall.install() }

        let bundle = bundlePath(for: spec.id)
        guard mkdir(bundle, 0o700) == 0 else {
            let code = errno
            if code == EEXIST {
                throw RuntimeError(.alreadyExists, "instance \(spec.id) already exists (\(bundle)); stop it first")
            }
            throw RuntimeError(.io, "cannot create \(bundle): \(Errno.text(code))")
        }
        do {
            let started = try await makeInstance(spec, bundle: bundle)
            logger.debug(
                "instance started",
                metadata: [
                    "instance": "\(spec.id)", "address": "\(started.address)", "took": "\(ContinuousClock.now - begin)",
                ])
            return started
        } catch {
            logger.debug(
                "instance failed to start; removing it", metadata: ["instance": "\(spec.id)", "error": "\(error)"])
            do {
                try await tearDown(spec.id, grace: .zero)
            } catch let cleanup {
                logger.error(
                    "cannot remove half-started instance", metadata: ["instance": "\(spec.id)", "error": "\(cleanup)"])
            }
            throw error
        }
    }

    /// The network (CNI: two execs) is attached while the rootfs is mounted and `runc
    /// create` sets the container up in the already existing namespace; `runc start` runs
    /// the process once both are done, so it starts with its address in place.
    private func makeInstance(_ spec: InstanceSpec, bundle: String) async throws(RuntimeError) -> StartedInstance {
        for name in ["upper", "work", "rootfs"] {
            guard mkdir("\(bundle)/\(name)", 0o755) == 0 else {
                throw RuntimeError(.io, "cannot create \(bundle)/\(name): \(Errno.text(errno))")
            }
        }
        let containerID = containerID(for: spec.id)
        let hosts = "\(bundle)/hosts"
        let hostname = "\(bundle)/hostname"
        let localhost = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        try write("\(spec.id)\n", to: hostname)
        if let prepared = takePrepared() {
            return try await makeInstance(spec, bundle: bundle, in: prepared, localhost: localhost)
        }
        try write(localhost, to: hosts)
        let netns = networkNamespace(for: spec.id)
        let t0 = ContinuousClock.now
        try await NetworkNamespace.create(netns)

        async let attachment = attachNetwork(netns: netns, containerID: containerID, bundle: bundle)
        let pid: Int32
        let t1: ContinuousClock.Instant
        do throws(RuntimeError) {
            try prepareBundle(spec, bundle: bundle, networkNamespace: netns)
            t1 = ContinuousClock.now
            pid = try await createContainer(containerID: containerID, instanceID: spec.id, bundle: bundle)
        } catch {
            _ = try? await attachment
            throw error
        }
        let t2 = ContinuousClock.now
        let address: String
        do {
            address = try await attachment
        } catch {
            throw error as? RuntimeError
                ?? RuntimeError(.network, "cannot attach \(spec.id) to the network", cause: error)
        }
        // In place: the file is already bind-mounted into the container.
        try write(localhost + "\(address)\t\(spec.id)\n", to: hosts)
        let t3 = ContinuousClock.now
        try await startContainer(containerID: containerID, instanceID: spec.id, bundle: bundle)
        logger.trace(
            "start phases",
            metadata: [
                "rootfs+config": "\(t1 - t0)", "create": "\(t2 - t1)", "network wait": "\(t3 - t2)",
                "start": "\(ContinuousClock.now - t3)",
            ])

        let logPath = logPath(for: spec.id)
        if let process = ProcessIdentity.current(pid: pid) {
            processes.withLock { $0[spec.id] = process }
        }
        // An init that already exited is still a started instance; isRunning reports it.
        return StartedInstance(id: spec.id, address: address, port: spec.port, pid: pid, logPath: logPath)
    }

    /// With a namespace from the ``NetworkPool`` the network is already there: the bundle
    /// records which one (teardown detaches it), and one `runc run --detach` creates and
    /// starts the container, one runc exec fewer than create and start.
    private func makeInstance(
        _ spec: InstanceSpec, bundle: String, in prepared: PreparedNetwork, localhost: String
    ) async throws(RuntimeError) -> StartedInstance {
        let t0 = ContinuousClock.now
        try write(prepared.name, to: "\(bundle)/\(Self.networkNameFile)")
        try write(prepared.result, to: "\(bundle)/network.json")
        try write(localhost + "\(prepared.address)\t\(spec.id)\n", to: "\(bundle)/hosts")
        try prepareBundle(spec, bundle: bundle, networkNamespace: prepared.name)
        let t1 = ContinuousClock.now
        defer { refillPool() }
        let pid = try await createContainer(
            containerID: containerID(for: spec.id), instanceID: spec.id, bundle: bundle, run: true)
        logger.trace(
            "start phases",
            metadata: ["rootfs+config": "\(t1 - t0)", "run": "\(ContinuousClock.now - t1)", "network": "pooled"])
        if let process = ProcessIdentity.current(pid: pid) {
            processes.withLock { $0[spec.id] = process }
        }
        return StartedInstance(
            id: spec.id, address: prepared.address, port: spec.port, pid: pid, logPath: logPath(for: spec.id))
    }

    /// The file in a bundle naming the pooled network namespace the instance runs in.
    static let networkNameFile = "network-name"

    /// Runs CNI ADD; the result goes to `network.json` for DEL.
    private func attachNetwork(netns: String, containerID: String, bundle: String) async throws(RuntimeError) -> String
    {
        let (address, result) = try await network.attach(
            containerID: containerID, netnsPath: NetworkNamespace.path(netns))
        try write(result, to: "\(bundle)/network.json")
        return address
    }

    /// The root filesystem and `config.json`, for a container in `networkNamespace`.
    private func prepareBundle(_ spec: InstanceSpec, bundle: String, networkNamespace: String) throws(RuntimeError) {
        let identity = try prepareRootfs(spec, bundle: bundle)
        let runtimeSpec = try builder.build(
            spec, user: identity, networkNamespace: NetworkNamespace.path(networkNamespace),
            files: .init(hosts: "\(bundle)/hosts", hostname: "\(bundle)/hostname"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json: Data
        do {
            json = try encoder.encode(runtimeSpec)
        } catch {
            throw RuntimeError(.io, "cannot encode config.json for \(spec.id)", cause: error)
        }
        try write(String(decoding: json, as: UTF8.self), to: "\(bundle)/config.json")
    }

    /// Mounts the overlay and resolves the image's `User` against its /etc/passwd and /etc/group.
    private func prepareRootfs(_ spec: InstanceSpec, bundle: String) throws(RuntimeError) -> UserDatabase.Identity {
        var lowerDirs = spec.lowerDirs
        if lowerDirs.isEmpty {
            // overlayfs needs a lower layer; an image without layers gets an empty one.
            guard mkdir("\(bundle)/empty", 0o755) == 0 else {
                throw RuntimeError(.io, "cannot create \(bundle)/empty: \(Errno.text(errno))")
            }
            lowerDirs = ["\(bundle)/empty"]
        }
        for directory in lowerDirs where access(directory, F_OK) != 0 {
            throw RuntimeError(.mount, "layer directory \(directory) of instance \(spec.id) does not exist")
        }
        try OverlayMount.mount(
            lowerDirs: lowerDirs, upper: "\(bundle)/upper", work: "\(bundle)/work", target: "\(bundle)/rootfs",
            linkDir: "\(bundle)/l")
        let user = spec.image?.User ?? ""
        // Numeric ids need no files, but passwd still supplies HOME and supplementary groups.
        let rootfs = "\(bundle)/rootfs"
        let database = UserDatabase(
            passwd: try RootedFile.read(root: rootfs, path: "etc/passwd"),
            group: try RootedFile.read(root: rootfs, path: "etc/group"))
        do {
            return try database.resolve(user)
        } catch {
            throw RuntimeError(error.code, "instance \(spec.id): \(error.message)", cause: error.cause)
        }
    }

    /// `runc create` (or `runc run --detach` when `run`) with the container's stdout and
    /// stderr on the log file (the process inherits them). Returns the init pid. runc's own log (`runc.log`, JSON) supplies the
    /// error message on failure, e.g. an executable missing from the image.
    private func createContainer(containerID: String, instanceID: String, bundle: String, run: Bool = false)
        async throws(RuntimeError) -> Int32
    {
        let logPath = logPath(for: instanceID)
        let logFD = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard logFD >= 0 else { throw RuntimeError(.io, "cannot open \(logPath): \(Errno.text(errno))") }
        defer { close(logFD) }
        let runcLog = "\(bundle)/runc.log"
        let pidFile = "\(bundle)/init.pid"
        let arguments =
            runcGlobalArguments + [
                "--log", runcLog, "--log-format", "json",
            ] + (run ? ["run", "--detach"] : ["create"]) + [
                "--bundle", bundle, "--pid-file", pidFile, containerID,
            ]
        let binary = configuration.runtimeBinary
        let executable: Executable = binary.contains("/") ? .path(FilePath(binary)) : .name(binary)
        let status: TerminationStatus
        do {
            let log = FileDescriptor(rawValue: logFD)
            status = try await Subprocess.run(
                executable, arguments: Arguments(arguments), input: .none,
                output: .fileDescriptor(log, closeAfterSpawningProcess: false),
                error: .fileDescriptor(log, closeAfterSpawningProcess: false)
            ).terminationStatus
        } catch {
            throw RuntimeError(.command, "cannot run \(binary)", cause: error)
        }
        guard status.isSuccess else {
            let message = Self.lastError(inRuncLog: runcLog) ?? "exit \(status), see \(logPath)"
            throw RuntimeError(.runtime, "\(binary) could not create instance \(instanceID): \(message)")
        }
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw RuntimeError(.runtime, "\(binary) created instance \(instanceID) but wrote no pid to \(pidFile)")
        }
        return pid
    }

    /// `runc start`: the created container's process execs the command.
    private func startContainer(containerID: String, instanceID: String, bundle: String) async throws(RuntimeError) {
        let runcLog = "\(bundle)/runc.log"
        let output = try await HelperCommand.run(
            configuration.runtimeBinary,
            runcGlobalArguments + ["--log", runcLog, "--log-format", "json", "start", containerID])
        guard output.succeeded else {
            let message = Self.lastError(inRuncLog: runcLog) ?? output.diagnostic
            throw RuntimeError(
                .runtime, "\(configuration.runtimeBinary) could not start instance \(instanceID): \(message)")
        }
    }

    /// The last error-level message of a runc JSON log.
    static func lastError(inRuncLog path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var message: String?
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["level"] as? String == "error" || object["level"] as? String == "fatal",
                let msg = object["msg"] as? String
            else { continue }
            message = msg
        }
        return message
    }

    /// Writes `text` into `path` in place (same inode, so a bind mount of it sees the change).
    func write(_ text: String, to path: String) throws(RuntimeError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RuntimeError(.io, "cannot open \(path): \(Errno.text(errno))") }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw RuntimeError(.io, "cannot write \(path): \(Errno.text(errno))") }
            bytes = bytes.dropFirst(count)
        }
    }
}
