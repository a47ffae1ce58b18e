import Foundation
import Glibc
import SkiffTestSupport

/// What the container tests need from the machine, and small host-side tools for them.
enum Host {
    /// Root, runc, the CNI bridge plugin and a static busybox: without them the container
    /// tests are skipped (CI sets SKIFF_E2E=required, which turns a skip into a failure).
    static let canRunContainers: Bool = {
        let ready =
            geteuid() == 0
            && (["/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/bin/busybox"] as [String]).allSatisfy {
                access($0, X_OK) == 0
            } && !which("runc").isEmpty
        if !ready, ProcessInfo.processInfo.environment["SKIFF_E2E"] == "required" {
            // Not skippable in CI: report the missing prerequisite instead of skipping.
            return true
        }
        return ready
    }()

    static var isRoot: Bool { geteuid() == 0 }

    /// The full path of `name` on `PATH`, empty when it is not there.
    static func which(_ name: String) -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 } ?? ""
    }

    /// Runs a command to completion, stdout and stderr together.
    @discardableResult
    static func run(_ arguments: [String]) async -> (status: Int32, output: String) {
        let absolute = arguments[0].hasPrefix("/")
        do {
            let result = try await ChildProcess.run(
                absolute ? arguments[0] : "/usr/bin/env", absolute ? Array(arguments.dropFirst()) : arguments)
            return (result.status, result.combined)
        } catch {
            return (-1, "\(error)")
        }
    }

    static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// One HTTP/1.0 GET over a plain socket; nil when the connection fails. The socket blocks,
    /// so it runs on a thread of its own.
    static func httpGet(_ address: String, _ port: Int, _ path: String, timeoutSeconds: Int = 5) async -> String? {
        await onOwnThread { blockingGet(address, port, path, timeoutSeconds: timeoutSeconds) }
    }

    private static func blockingGet(_ address: String, _ port: Int, _ path: String, timeoutSeconds: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, address, port) else { return nil }
        let request = "GET \(path) HTTP/1.0\r\nHost: \(address)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// Whether a TCP connection to address:port succeeds now.
    static func accepts(_ address: String, _ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return connect(fd, address, port)
    }

    private static func connect(_ fd: CInt, _ address: String, _ port: Int) -> Bool {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { return false }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Whether a connection waits in the backlog of listening socket `fd` (accepts and closes it).
    static func hasPendingConnection(_ fd: CInt) -> Bool {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, 0) == 1 else { return false }
        let connection = accept(fd, nil, nil)
        if connection >= 0 { close(connection) }
        return connection >= 0
    }

    /// A listening TCP socket on address:port (kernel-chosen port with 0); returns fd and port.
    static func listen(on address: String) -> (fd: CInt, port: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
            close(fd)
            return nil
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            close(fd)
            return nil
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: actual.sin_port)))
    }
}
