#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Applies validated tar entries to a snapshot directory without ever following a symlink.
///
/// Every object is created with an `*at` call relative to a directory descriptor that was
/// opened component by component from the snapshot root with `O_NOFOLLOW | O_DIRECTORY`.
/// An entry whose parent path meets a symlink is rejected; nothing the layer contains can
/// redirect a write outside the snapshot. The descriptors of the current parent chain are
/// cached (tar order is depth-first), so most entries cost no directory lookups.
final class SnapshotWriter {
    let root: CInt
    let limits: UnpackLimits
    var stats = UnpackStats()

    /// Open descriptors for the path components of the last parent directory walked.
    private var chain: [(name: String, descriptor: CInt)] = []
    /// Directory modification times, applied last because creating children changes them.
    private var directoryTimes: [[String]: TarTimestamp] = [:]

    init(root: CInt, limits: UnpackLimits) {
        self.root = root
        self.limits = limits
    }

    deinit {
        truncateChain(to: 0)
    }

    // MARK: - Directory walking

    /// The descriptor of directory `components`, creating missing directories (0755, as
    /// containerd does for parents a layer omits). The result belongs to the cache: do not
    /// close it, and do not keep it past the next call.
    func directory(_ components: ArraySlice<String>, entry: String) throws(ArchiveError) -> CInt {
        // With `create`, a missing component is created, never reported.
        guard let descriptor = try walk(components, entry: entry, create: true) else {
            throw ArchiveError(.io, "cannot create the parent directories of `\(entry)`")
        }
        return descriptor
    }

    /// Like ``directory(_:entry:)`` but creates nothing: nil if a component is missing or
    /// is not a directory (symlinks included).
    func existingDirectory(_ components: ArraySlice<String>) throws(ArchiveError) -> CInt? {
        try walk(components, entry: components.joined(separator: "/"), create: false)
    }

    private func walk(_ components: ArraySlice<String>, entry: String, create: Bool) throws(ArchiveError) -> CInt? {
        var depth = 0
        while depth < components.count, depth < chain.count,
            chain[depth].name == components[components.startIndex + depth]
        {
            depth += 1
        }
        truncateChain(to: depth)
        var current = depth == 0 ? root : chain[depth - 1].descriptor
        for index in depth..<components.count {
            let name = components[components.startIndex + index]
            guard
                let next = try openDirectory(
                    in: current, name, entry: entry, through: components.prefix(index + 1), create: create)
            else { return nil }
            current = next
            chain.append((name, current))
        }
        return current
    }

    /// Adds a directory just created/opened by the caller below the current chain, so the
    /// entries inside it that usually follow need no lookup.
    func pushDirectory(_ name: String, _ descriptor: CInt, parent: ArraySlice<String>) {
        if chain.count == parent.count {
            chain.append((name, descriptor))
        } else {
            Syscall.close(descriptor)
        }
    }

    /// Forgets cached descriptors at or below `components`; call before replacing or
    /// removing an existing object there.
    func invalidate(_ components: [String]) {
        guard !components.isEmpty, components.count <= chain.count else { return }
        for index in components.indices where chain[index].name != components[index] {
            return
        }
        truncateChain(to: components.count - 1)
    }

    private func truncateChain(to count: Int) {
        while chain.count > count {
            Syscall.close(chain.removeLast().descriptor)
        }
    }

    private func openDirectory(
        in parent: CInt, _ name: String, entry: String, through: ArraySlice<String>, create: Bool
    ) throws(ArchiveError) -> CInt? {
        var created = false
        while true {
            let descriptor = openat(parent, name, Syscall.directoryFlags)
            if descriptor >= 0 {
                if created, fchmod(descriptor, 0o755) != 0 {
                    Syscall.close(descriptor)
                    throw Syscall.failure("cannot set mode of `\(through.joined(separator: "/"))`")
                }
                return descriptor
            }
            if !create, errno == ENOENT || errno == ENOTDIR || errno == ELOOP { return nil }
            switch errno {
            case ENOENT where !created:
                if mkdirat(parent, name, 0o755) != 0, errno != EEXIST {
                    throw Syscall.failure(
                        "cannot create parent directory `\(through.joined(separator: "/"))` of `\(entry)`")
                }
                created = true
            case ELOOP, ENOTDIR:
                let info = try Syscall.lstat(parent, name)
                if let info, Syscall.isSymlink(info) {
                    throw ArchiveError(
                        .symlinkTraversal,
                        "entry `\(entry)` would be written through the symlink `\(through.joined(separator: "/"))`")
                }
                throw ArchiveError(
                    .io, "entry `\(entry)` needs `\(through.joined(separator: "/"))` to be a directory, but it is not")
            default:
                throw Syscall.failure("cannot open directory `\(through.joined(separator: "/"))` for `\(entry)`")
            }
        }
    }

    // MARK: - Replacing existing objects

    /// Makes room for a non-directory at `name`: removes whatever is there (recursively for
    /// a directory, as containerd does when a file replaces a directory).
    func clear(_ parent: CInt, _ path: EntryPath) throws(ArchiveError) {
        guard let existing = try Syscall.lstat(parent, path.name) else { return }
        if Syscall.isDirectory(existing) {
            invalidate(path.components)
            try Syscall.removeTree(parent, path.name)
        } else if unlinkat(parent, path.name, 0) != 0, errno != ENOENT {
            throw Syscall.failure("cannot replace `\(path.string)`")
        }
    }

    // MARK: - Finishing

    func recordDirectoryTime(_ components: [String], _ time: TarTimestamp) {
        directoryTimes[components] = time
    }

    /// Applies directory mtimes, sorted so that the walk reuses the descriptor chain.
    /// A directory since replaced by something else is skipped.
    func finish() throws(ArchiveError) {
        let sorted = directoryTimes.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        truncateChain(to: 0)
        for (components, time) in sorted {
            let times = Syscall.timespecs(time)
            if components.isEmpty {
                guard futimens(root, times) == 0 else { throw Syscall.failure("cannot set mtime of the snapshot root") }
                continue
            }
            guard let parent = try existingDirectory(components.dropLast()) else { continue }
            let name = components[components.count - 1]
            guard let info = try Syscall.lstat(parent, name), Syscall.isDirectory(info) else { continue }
            guard utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw Syscall.failure("cannot set mtime of `\(components.joined(separator: "/"))`")
            }
        }
        directoryTimes = [:]
    }
}
