import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The data directory's layout (docs/architecture.md): one place that names every path in it.
struct DataDirectory {
    let root: String

    var database: String { root + "/skiff.db" }
    var adminToken: String { root + "/admin.token" }
    var blobs: String { root + "/blobs" }
    var snapshots: String { root + "/snapshots" }
    var instances: String { root + "/instances" }
    var logs: String { root + "/logs" }
    var cni: String { root + "/cni" }
    var uploads: String { root + "/tmp" }
    /// The running server's gateway socket, for a successor to take over.
    var gatewayListener: String { root + "/gateway.listener" }

    /// Creates the directories; nothing in them is readable by other users.
    init(root: String) throws {
        self.root = root
        try Self.make(root, mode: 0o711)
        for directory in [instances, logs, cni, uploads] {
            try Self.make(directory, mode: 0o700)
        }
        // SQLite gives its -wal and -shm files the database's mode: create it private first.
        let fd = open(database, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServerError("cannot create \(database): \(String(cString: strerror(errno)))") }
        close(fd)
        guard chmod(database, 0o600) == 0 else {
            throw ServerError("cannot set permissions of \(database): \(String(cString: strerror(errno)))")
        }
    }

    private static func make(_ path: String, mode: mode_t) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ServerError("cannot create \(path): \(error.localizedDescription)")
        }
        guard chmod(path, mode) == 0 else {
            throw ServerError("cannot set permissions of \(path): \(String(cString: strerror(errno)))")
        }
    }
}
