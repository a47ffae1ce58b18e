import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Hands the gateway's listening socket from a running server to the one that replaces it,
/// so a restart refuses no connection: the socket is never closed, and what arrives while
/// one process leaves and the other takes over waits in its backlog.
///
/// A running server records its pid and the socket's descriptor number in
/// `DATA_DIR/gateway.listener`. A server started on the same data directory while that one
/// runs copies the descriptor with pidfd_getfd(2) (Linux 5.6; the permission ptrace needs,
/// which root has), starts accepting on it, and only then asks the old server to stop
/// (SIGTERM): the old one stops accepting, finishes its requests, leaves its instances
/// running and exits, and the new one adopts them. nginx and HAProxy hand their listeners
/// over on an upgrade for the same reason.
struct ListenerHandover {
    /// What the running server records.
    struct Record: Codable, Equatable {
        var pid: Int32
        var descriptor: Int32
        var host: String
        var port: Int
    }

    let path: String

    /// Records this process's listening socket for a successor to take.
    func publish(descriptor: Int32, host: String, port: Int) throws {
        let record = Record(pid: getpid(), descriptor: descriptor, host: host, port: port)
        let data = try JSONEncoder().encode(record)
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary), options: .atomic)
        guard rename(temporary, path) == 0 else {
            throw ServerError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the record if it is this process's (a successor may have replaced it).
    func withdraw() {
        guard let record = read(), record.pid == getpid() else { return }
        unlink(path)
    }

    func read() -> Record? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(Record.self, from: data)
    }

    /// Takes the listening socket of a server that still runs on this data directory and
    /// listens on `host:port`; nil when there is none (the usual start, or after a crash).
    /// Two servers never run one data directory side by side: one that listens elsewhere
    /// is an error.
    func takeOver(host: String, port: Int) throws -> Predecessor? {
        guard let record = read(), record.pid != getpid() else { return nil }
        let pidfd = LinuxProcess.pidfdOpen(record.pid)
        guard pidfd >= 0 else { return nil }  // gone: it crashed or stopped
        let socket = LinuxProcess.pidfdGetfd(pidfd, record.descriptor)
        guard socket >= 0 else {
            let error = errno
            close(pidfd)
            // No such descriptor: the pid belongs to another program now.
            if error == EBADF { return nil }
            let reason = String(cString: strerror(error))
            throw ServerError(
                "skiff server \(record.pid) runs on this data directory, but its listening socket cannot be taken over (\(reason)); stop it first"
            )
        }
        // The pid may have been recycled by another program: take only a listening socket on
        // the recorded port.
        guard ListeningSocket.isListening(socket, port: record.port) else {
            close(socket)
            close(pidfd)
            return nil
        }
        guard record.host == host, record.port == port else {
            close(socket)
            close(pidfd)
            throw ServerError(
                "skiff server \(record.pid) runs on this data directory with its gateway on \(record.host):\(record.port); stop it first (kill -INT \(record.pid)), or start this one with --http \(record.host):\(record.port) to take over from it"
            )
        }
        return Predecessor(pid: record.pid, pidfd: pidfd, socket: socket)
    }
}

/// The server being replaced: its pid, a pidfd to watch it exit, and the listening socket
/// copied from it.
struct Predecessor: Sendable, Equatable {
    let pid: Int32
    let pidfd: Int32
    /// The gateway's listening socket, shared with the predecessor until it exits.
    let socket: Int32

    /// Asks it to stop as at a restart: SIGTERM (it keeps its instances for this process).
    func requestStop() {
        kill(pid, SIGTERM)
    }

    /// Waits until it has exited, at most `timeout`; returns whether it did.
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            // A pidfd turns readable when its process exits, and stays so: every waiter sees it.
            if poll(&descriptor, 1, 0) > 0 { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

/// The pidfd calls glibc 2.36 has but Swift's Glibc module does not export.
enum LinuxProcess {
    private typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    private typealias PidfdGetfd = @convention(c) (Int32, Int32, UInt32) -> Int32

    static func pidfdOpen(_ pid: Int32) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pidfd_open") else { return -1 }
        return unsafeBitCast(symbol, to: PidfdOpen.self)(pid, 0)
    }

    static func pidfdGetfd(_ pidfd: Int32, _ descriptor: Int32) -> Int32 {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pidfd_getfd") else {
            errno = ENOSYS
            return -1
        }
        return unsafeBitCast(symbol, to: PidfdGetfd.self)(pidfd, descriptor, 0)
    }
}

/// Opens the gateway's listening socket: close-on-exec (instances must not inherit it),
/// `SO_REUSEADDR`, bound and listening.
enum ListeningSocket {
    static func open(host: String, port: Int, backlog: Int32) throws -> Int32 {
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw ServerError("cannot listen on \(host):\(port): \(error)")
        }
        let family = address.protocol.rawValue
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError("cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { pointer, length in bind(fd, pointer, socklen_t(length)) }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ServerError("cannot listen on \(host):\(port): \(reason)")
        }
        return fd
    }

    /// Whether `fd` is a TCP socket listening on `port`.
    static func isListening(_ fd: Int32, port: Int) -> Bool {
        var accepting: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &size) == 0, accepting == 1 else { return false }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { return false }
        let family = Int32(storage.ss_family)
        let networkOrder: UInt16 = withUnsafePointer(to: &storage) { pointer in
            switch family {
            case AF_INET: pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port }
            case AF_INET6: pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port }
            default: 0
            }
        }
        return Int(UInt16(bigEndian: networkOrder)) == port
    }
}
