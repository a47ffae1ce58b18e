import Glibc

/// Reads small files of a container's root filesystem from the host without following a
/// symlink out of it: an image's `/etc/passwd -> /etc/shadow` resolves to the image's
/// shadow, not the host's, and `..` stops at the root.
enum RootedFile {
    /// The contents of `path` (relative to `root`), nil when it does not exist or is not a
    /// regular file. At most `limit` bytes are read.
    static func read(root: String, path: String, limit: Int = 1 << 20) throws(RuntimeError) -> String? {
        let rootFD = open(root, LinuxCalls.oPath | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw RuntimeError(.io, "cannot open \(root): \(Errno.text(errno))") }
        var directories: [CInt] = [rootFD]
        defer { for fd in directories { close(fd) } }

        var pending = Array(path.split(separator: "/").map(String.init).reversed())
        var symlinks = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if directories.count > 1, let fd = directories.popLast() { close(fd) }
                continue
            }
            let parent = directories[directories.count - 1]
            let fd = openat(parent, component, LinuxCalls.oPath | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT || errno == ENOTDIR { return nil }
                throw RuntimeError(.io, "cannot open \(path) in \(root): \(Errno.text(errno))")
            }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                close(fd)
                throw RuntimeError(.io, "cannot stat \(path) in \(root): \(Errno.text(errno))")
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                symlinks += 1
                var buffer = [CChar](repeating: 0, count: 4096)
                let count = readlinkat(fd, "", &buffer, buffer.count - 1)
                close(fd)
                guard symlinks <= 40, count >= 0 else { return nil }
                let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if target.hasPrefix("/") {
                    while directories.count > 1, let top = directories.popLast() { close(top) }
                }
                pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
            case S_IFDIR:
                directories.append(fd)
            case S_IFREG:
                close(fd)
                guard pending.isEmpty else { return nil }
                return try readRegular(parent: parent, name: component, display: path, limit: limit)
            default:
                close(fd)
                return nil
            }
        }
        return nil
    }

    private static func readRegular(parent: CInt, name: String, display: String, limit: Int) throws(RuntimeError)
        -> String
    {
        // O_NONBLOCK: a FIFO swapped in cannot hang us; O_NOFOLLOW: nor can a symlink.
        let fd = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError(.io, "cannot open \(display): \(Errno.text(errno))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw RuntimeError(.io, "cannot read \(display): \(Errno.text(errno))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes.prefix(limit), as: UTF8.self)
    }
}
