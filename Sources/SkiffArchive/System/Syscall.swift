import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Thin wrappers over the `*at` system calls the unpacker uses. Every call that names a
/// path takes a directory descriptor plus a single component and never follows a symlink
/// in the final component; callers never pass multi-component paths.
enum Syscall {
    static let directoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC

    static var lastErrno: Errno { Errno(rawValue: errno) }

    static func failure(_ message: String, code: ArchiveError.Code = .io) -> ArchiveError {
        let current = lastErrno
        return ArchiveError(code, "\(message): \(current)", cause: current)
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)`; nil if the name does not exist.
    static func lstat(_ parent: CInt, _ name: String) throws(ArchiveError) -> stat? {
        var info = stat()
        if fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 { return info }
        if errno == ENOENT { return nil }
        throw failure("cannot stat `\(name)`")
    }

    static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }
    static func isRegular(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFREG }
    static func isSymlink(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFLNK }

    static func close(_ descriptor: CInt) {
        _ = Glibc.close(descriptor)
    }

    /// Writes all of `chunk`, retrying short writes and EINTR.
    static func writeAll(_ descriptor: CInt, _ chunk: UnsafeRawBufferPointer, path: String) throws(ArchiveError) {
        guard var base = chunk.baseAddress else { return }
        var remaining = chunk.count
        while remaining > 0 {
            let written = Glibc.write(descriptor, base, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("cannot write `\(path)`")
            }
            base += written
            remaining -= written
        }
    }

    static func timespecs(_ time: TarTimestamp) -> [timespec] {
        let spec = timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds))
        return [spec, spec]
    }

    /// Removes `name` in `parent` and, if it is a directory, everything below it, without
    /// ever following a symlink (a hostile snapshot may hold links to `/`).
    static func removeTree(_ parent: CInt, _ name: [CChar]) throws(ArchiveError) {
        var info = stat()
        if fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
            if errno == ENOENT { return }
            throw failure("cannot stat `\(display(name))` for removal")
        }
        if isDirectory(info) {
            let directory = openat(parent, name, directoryFlags)
            guard directory >= 0 else { throw failure("cannot open `\(display(name))` for removal") }
            defer { close(directory) }
            for child in try entries(of: directory) {
                try removeTree(directory, child)
            }
            guard unlinkat(parent, name, AT_REMOVEDIR) == 0 else {
                throw failure("cannot remove directory `\(display(name))`")
            }
        } else if unlinkat(parent, name, 0) != 0, errno != ENOENT {
            throw failure("cannot remove `\(display(name))`")
        }
    }

    static func display(_ name: [CChar]) -> String {
        String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func removeTree(_ parent: CInt, _ name: String) throws(ArchiveError) {
        try removeTree(parent, Array(name.utf8CString))
    }

    /// Names in a directory (NUL-terminated, raw bytes), without `.` and `..`.
    static func entries(of directory: CInt) throws(ArchiveError) -> [[CChar]] {
        let duplicate = dup(directory)
        guard duplicate >= 0, let stream = fdopendir(duplicate) else {
            if duplicate >= 0 { close(duplicate) }
            throw failure("cannot list directory")
        }
        defer { closedir(stream) }
        var names: [[CChar]] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.bindMemory(to: CChar.self).prefix { $0 != 0 }) + [0]
            }
            if name == [46, 0] || name == [46, 46, 0] { continue }
            names.append(name)
        }
        return names
    }

    /// `renameat2(RENAME_NOREPLACE)` looked up at run time (Swift's Glibc module does not
    /// export it); falls back to `rename`, after the caller's existence check, on libcs
    /// without it.
    static func renameNoReplace(_ from: String, _ to: String) throws(ArchiveError) {
        typealias RenameAt2 =
            @convention(c) (CInt, UnsafePointer<CChar>, CInt, UnsafePointer<CChar>, CUnsignedInt) -> CInt
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") {
            let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
            let renameNoReplaceFlag: CUnsignedInt = 1
            if renameat2(AT_FDCWD, from, AT_FDCWD, to, renameNoReplaceFlag) == 0 { return }
            if errno == EEXIST {
                throw failure("snapshot destination `\(to)` appeared while unpacking", code: .destinationExists)
            }
            if errno != ENOSYS && errno != EINVAL {
                throw failure("cannot rename `\(from)` to `\(to)`")
            }
        }
        guard rename(from, to) == 0 else { throw failure("cannot rename `\(from)` to `\(to)`") }
    }
}
