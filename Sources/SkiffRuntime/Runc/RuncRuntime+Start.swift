import Foundation
import Glibc
import Logging
import SkiffOCI
import Subprocess
import Synchronization
import SystemPackage

extension RuncRuntime {
    /// Starts an instance: bundle directory, network namespace, then CNI in parallel with
    /// the overlay mount, user lookup and `config.json`; then `runc run --detach`.
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

    /// The network (CNI: two execs) is attached while the rootfs is mounted and config.json
    /// written; then `runc run --detach` starts the process with its address in place.
    private func makeInstance(_ spec: InstanceSpec, bundle: String) async throws(RuntimeError) -> StartedInstance {
        for name in ["upper", "work", "rootfs"] {
            guard mkdir("\(bundle)/\(name)", 0o755) == 0 else {
                throw RuntimeError(.io, "cannot create \(bundle)/\(name): \(Errno.text(errno))")
            }
        }
        let netns = networkNamespace(for: spec.id)
        let containerID = containerID(for: spec.id)
        let hosts = "\(bundle)/hosts"
        let hostname = "\(bundle)/hostname"
        let localhost = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        try write(localhost, to: hosts)
        try write("\(spec.id)\n", to: hostname)
        let t0 = ContinuousClock.now
        try await NetworkNamespace.create(netns)

        async let attachment = attachNetwork(netns: netns, containerID: containerID, bundle: bundle)
        let t1: ContinuousClock.Instant
        do throws(RuntimeError) {
            let identity = try prepareRootfs(spec, bundle: bundle)
            let runtimeSpec = try builder.build(
                spec, user: identity, networkNamespace: NetworkNamespace.path(netns),
                files: .init(hosts: hosts, hostname: hostname))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let json: Data
            do {
                json = try encoder.encode(runtimeSpec)
            } catch {
                throw RuntimeError(.io, "cannot encode config.json for \(spec.id)", cause: error)
            }
            try write(String(decoding: json, as: UTF8.self), to: "\(bundle)/config.json")
            t1 = ContinuousClock.now
        } catch {
            _ = try? await attachment
            throw error
        }
        let address: String
        do {
            address = try await attachment
        } catch {
            throw error as? RuntimeError
                ?? RuntimeError(.network, "cannot attach \(spec.id) to the network", cause: error)
        }
        try write(localhost + "\(address)\t\(spec.id)\n", to: hosts)
        let t2 = ContinuousClock.now
        // One runc process creates and starts the container: every runc exec costs
        // milliseconds, and a request may be waiting for this instance.
        let pid = try await runContainer(containerID: containerID, instanceID: spec.id, bundle: bundle)
        logger.trace(
            "start phases",
            metadata: [
                "rootfs+config": "\(t1 - t0)", "network wait": "\(t2 - t1)", "run": "\(ContinuousClock.now - t2)",
            ])

        let logPath = logPath(for: spec.id)
        if let process = ProcessIdentity.current(pid: pid) {
            processes.withLock { $0[spec.id] = process }
        }
        // An init that already exited is still a started instance; isRunning reports it.
        return StartedInstance(id: spec.id, address: address, port: spec.port, pid: pid, logPath: logPath)
    }

    /// Runs CNI ADD; the result goes to `network.json` for DEL.
    private func attachNetwork(netns: String, containerID: String, bundle: String) async throws(RuntimeError) -> String
    {
        let (address, result) = try await network.attach(
            containerID: containerID, netnsPath: NetworkNamespace.path(netns))
        try write(result, to: "\(bundle)/network.json")
        return address
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

    /// `runc run --detach` with the container's stdout and stderr on the log file (the
    /// process inherits them). Returns the init pid. runc's own log (`runc.log`, JSON)
    /// supplies the error message on failure, e.g. an executable missing from the image.
    private func runContainer(containerID: String, instanceID: String, bundle: String) async throws(RuntimeError)
        -> Int32
    {
        let logPath = logPath(for: instanceID)
        let logFD = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard logFD >= 0 else { throw RuntimeError(.io, "cannot open \(logPath): \(Errno.text(errno))") }
        defer { close(logFD) }
        let runcLog = "\(bundle)/runc.log"
        let pidFile = "\(bundle)/init.pid"
        let arguments =
            runcGlobalArguments + [
                "--log", runcLog, "--log-format", "json", "run", "--detach", "--bundle", bundle, "--pid-file",
                pidFile, containerID,
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
            throw RuntimeError(.runtime, "\(binary) could not start instance \(instanceID): \(message)")
        }
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            throw RuntimeError(.runtime, "\(binary) started instance \(instanceID) but wrote no pid to \(pidFile)")
        }
        return pid
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
