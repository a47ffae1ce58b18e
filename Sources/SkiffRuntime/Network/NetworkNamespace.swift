import Foundation
import Glibc

/// A named network namespace, `/run/netns/NAME`, made the way `ip netns add` makes it (so
/// `ip netns` lists and enters it) but with system calls instead of a process: a fresh
/// thread unshares its network namespace, brings `lo` up in it (what the CNI `loopback`
/// plugin would do, minus an exec) and bind-mounts the namespace onto the name file.
/// The thread then exits; the mount keeps the namespace alive.
enum NetworkNamespace {
    static let directory = "/run/netns"

    static func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// Creates `/run/netns/NAME`; fails if it exists.
    static func create(_ name: String) async throws(RuntimeError) {
        let path = path(name)
        try prepareDirectory()
        let fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST { throw RuntimeError(.alreadyExists, "network namespace \(path) already exists") }
            throw RuntimeError(.network, "cannot create \(path): \(Errno.text(code))")
        }
        close(fd)
        let failure = await onOwnThread { makeNamespaceOnThisThread(at: path) }
        if let failure {
            unlink(path)
            throw RuntimeError(.network, "cannot create network namespace \(name): \(failure)")
        }
    }

    /// Unmounts and removes `/run/netns/NAME`; a missing one is success.
    static func delete(_ name: String) throws(RuntimeError) {
        let path = path(name)
        if umount2(path, Int32(MNT_DETACH)) != 0, errno != EINVAL, errno != ENOENT {
            throw RuntimeError(.network, "cannot unmount network namespace \(path): \(Errno.text(errno))")
        }
        if unlink(path) != 0, errno != ENOENT {
            throw RuntimeError(.network, "cannot remove \(path): \(Errno.text(errno))")
        }
    }

    static func exists(_ name: String) -> Bool { access(path(name), F_OK) == 0 }

    /// Runs on a thread of its own, which it leaves in the new namespace; the thread exits right after.
    private static func makeNamespaceOnThisThread(at path: String) -> String? {
        guard LinuxCalls.unshare(LinuxCalls.cloneNewNet) == 0 else { return "unshare: \(Errno.text(errno))" }
        if let failure = bringLoopbackUp() { return failure }
        guard mount("/proc/thread-self/ns/net", path, "none", UInt(MS_BIND), nil) == 0 else {
            return "bind mount onto \(path): \(Errno.text(errno))"
        }
        return nil
    }

    private static func bringLoopbackUp() -> String? {
        let socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { return "socket: \(Errno.text(errno))" }
        defer { close(socketFD) }
        var request = ifreq()
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { name in
            for (index, byte) in "lo".utf8.enumerated() { name[index] = byte }
        }
        guard ioctl(socketFD, UInt(SIOCGIFFLAGS), &request) == 0 else { return "SIOCGIFFLAGS lo: \(Errno.text(errno))" }
        request.ifr_ifru.ifru_flags |= Int16(IFF_UP | IFF_RUNNING)
        guard ioctl(socketFD, UInt(SIOCSIFFLAGS), &request) == 0 else { return "SIOCSIFFLAGS lo: \(Errno.text(errno))" }
        return nil
    }

    /// `/run/netns` as a shared mount, as `ip netns` makes it, so namespace mounts propagate
    /// to mount namespaces created later.
    private static func prepareDirectory() throws(RuntimeError) {
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw RuntimeError(.network, "cannot create \(directory): \(Errno.text(errno))")
        }
        if mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) == 0 { return }
        guard errno == EINVAL,
            mount(directory, directory, "none", UInt(MS_BIND | MS_REC), nil) == 0,
            mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) == 0
        else {
            throw RuntimeError(.network, "cannot make \(directory) a shared mount: \(Errno.text(errno))")
        }
    }
}
