#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension SnapshotWriter {
    /// Root-level names a runtime mounts over; as links they could redirect those mounts.
    static let protectedRootNames: Set<String> = ["proc", "sys", "dev"]

    /// Validates `entry` and applies it, streaming a regular file's data from `reader`.
    func apply(_ entry: TarEntry, from reader: TarReader) throws(ArchiveError) {
        let path = try EntryPath(validating: entry.path, maxDepth: limits.maxPathDepth)
        for component in path.parent where component.hasPrefix(Whiteout.prefix) {
            throw ArchiveError(
                .whiteoutInvalid, "entry `\(entry.path)` is below `\(component)`, but whiteouts cannot have children")
        }
        switch entry.type {
        case .characterDevice, .blockDevice, .fifo:
            throw ArchiveError(
                .deviceNode, "entry `\(entry.path)` is a \(entry.type); device nodes and FIFOs are not allowed")
        case .other:
            throw ArchiveError(.unsupportedEntry, "entry `\(entry.path)` has an \(entry.type)")
        case .regular, .hardlink, .symlink, .directory:
            break
        }
        if let whiteout = try Whiteout(path: path, entry: entry) {
            try apply(whiteout, entry: entry)
            stats.entries += 1
            return
        }
        if path.components.count == 1, Self.protectedRootNames.contains(path.name),
            entry.type == .symlink || entry.type == .hardlink
        {
            throw ArchiveError(
                .protectedPathSymlink,
                "entry `\(entry.path)` makes /\(path.name) a \(entry.type); the runtime mounts there")
        }
        if path.isRoot, entry.type != .directory {
            throw ArchiveError(.invalidPath, "entry `\(entry.path)` names the snapshot root but is a \(entry.type)")
        }
        switch entry.type {
        case .directory: try makeDirectory(path, entry)
        case .regular: try writeFile(path, entry, reader)
        case .symlink: try makeSymlink(path, entry)
        case .hardlink: try makeHardlink(path, entry)
        default: break
        }
        stats.entries += 1
    }

    // MARK: - Directories

    private func makeDirectory(_ path: EntryPath, _ entry: TarEntry) throws(ArchiveError) {
        if path.isRoot {
            try applyMetadata(root, entry, path)
            recordDirectoryTime([], entry.modificationTime)
            return
        }
        let parent = try directory(path.parent, entry: entry.path)
        while mkdirat(parent, path.name, 0o700) != 0 {
            guard errno == EEXIST else { throw Syscall.failure("cannot create directory `\(entry.path)`") }
            // A directory over a directory merges; over anything else it replaces.
            if let existing = try Syscall.lstat(parent, path.name), Syscall.isDirectory(existing) { break }
            try clear(parent, path)
        }
        let descriptor = openat(parent, path.name, Syscall.directoryFlags)
        guard descriptor >= 0 else { throw Syscall.failure("cannot open directory `\(entry.path)`") }
        do {
            try applyMetadata(descriptor, entry, path)
        } catch {
            Syscall.close(descriptor)
            throw error
        }
        recordDirectoryTime(path.components, entry.modificationTime)
        pushDirectory(path.name, descriptor, parent: path.parent)
    }

    // MARK: - Regular files

    private func writeFile(_ path: EntryPath, _ entry: TarEntry, _ reader: TarReader) throws(ArchiveError) {
        let parent = try directory(path.parent, entry: entry.path)
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var descriptor = openat(parent, path.name, flags, 0o600)
        if descriptor < 0, errno == EEXIST {
            try clear(parent, path)
            descriptor = openat(parent, path.name, flags, 0o600)
        }
        guard descriptor >= 0 else { throw Syscall.failure("cannot create `\(entry.path)`") }
        defer { Syscall.close(descriptor) }
        let name = entry.path
        while try reader.readData({ (chunk) throws(ArchiveError) in
            try Syscall.writeAll(descriptor, chunk, path: name)
        }) {}
        stats.bytes += entry.size
        try applyMetadata(descriptor, entry, path)
        guard futimens(descriptor, Syscall.timespecs(entry.modificationTime)) == 0 else {
            throw Syscall.failure("cannot set mtime of `\(entry.path)`")
        }
    }

    /// Owner, then mode (chown clears setuid/setgid), then xattrs (chown also clears
    /// `security.capability`).
    private func applyMetadata(_ descriptor: CInt, _ entry: TarEntry, _ path: EntryPath) throws(ArchiveError) {
        guard fchown(descriptor, entry.uid, entry.gid) == 0 else {
            throw Syscall.failure("cannot set owner of `\(entry.path)`")
        }
        guard fchmod(descriptor, mode_t(entry.mode)) == 0 else {
            throw Syscall.failure("cannot set mode of `\(entry.path)`")
        }
        for xattr in entry.xattrs where try shouldApply(xattr, entry) {
            if ExtendedAttributes.set(descriptor, xattr.name, xattr.value) != 0 { try xattrFailed(xattr, entry) }
        }
    }

    // MARK: - Links

    private func makeSymlink(_ path: EntryPath, _ entry: TarEntry) throws(ArchiveError) {
        try Self.checkSymlinkTarget(entry.linkName, of: path, entry: entry.path)
        let parent = try directory(path.parent, entry: entry.path)
        if symlinkat(entry.linkName, parent, path.name) != 0 {
            guard errno == EEXIST else { throw Syscall.failure("cannot create symlink `\(entry.path)`") }
            try clear(parent, path)
            guard symlinkat(entry.linkName, parent, path.name) == 0 else {
                throw Syscall.failure("cannot create symlink `\(entry.path)`")
            }
        }
        guard fchownat(parent, path.name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw Syscall.failure("cannot set owner of `\(entry.path)`")
        }
        if !entry.xattrs.isEmpty {
            // No fd-based call sets an xattr on a symlink itself; /proc/self/fd/N resolves to
            // the verified parent directory and lsetxattr does not follow the final name.
            let linkPath = "/proc/self/fd/\(parent)/\(path.name)"
            for xattr in entry.xattrs where try shouldApply(xattr, entry) {
                if ExtendedAttributes.setNoFollow(linkPath, xattr.name, xattr.value) != 0 {
                    try xattrFailed(xattr, entry)
                }
            }
        }
        guard utimensat(parent, path.name, Syscall.timespecs(entry.modificationTime), AT_SYMLINK_NOFOLLOW) == 0 else {
            throw Syscall.failure("cannot set mtime of `\(entry.path)`")
        }
    }

    /// Relative targets are resolved lexically from the link's directory and must never
    /// climb above the root, even transiently. Absolute targets are resolved inside the
    /// container's root at run time (`bin/sh -> /bin/busybox`), so they are allowed.
    static func checkSymlinkTarget(_ target: String, of path: EntryPath, entry: String) throws(ArchiveError) {
        guard !target.isEmpty else {
            throw ArchiveError(.badHeader, "symlink `\(entry)` has an empty target")
        }
        if target.hasPrefix("/") { return }
        var depth = path.components.count - 1
        for component in target.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                depth -= 1
                if depth < 0 {
                    throw ArchiveError(.symlinkEscape, "symlink `\(entry)` -> `\(target)` points outside the root")
                }
            } else {
                depth += 1
            }
        }
    }

    /// A hardlink must name a regular file this layer has already unpacked; the link is
    /// made with `linkat` between two verified directory descriptors, so neither side can
    /// be redirected.
    private func makeHardlink(_ path: EntryPath, _ entry: TarEntry) throws(ArchiveError) {
        let raw = entry.linkName
        let target: EntryPath
        do {
            target = try EntryPath(validating: raw, maxDepth: limits.maxPathDepth, what: "hardlink target")
        } catch {
            throw ArchiveError(
                .hardlinkEscape, "hardlink `\(entry.path)` -> `\(raw)`: \(error.message)")
        }
        guard !target.isRoot else {
            throw ArchiveError(.hardlinkEscape, "hardlink `\(entry.path)` -> `\(raw)` points at the root")
        }
        guard let cachedTargetParent = try existingDirectory(target.parent) else {
            throw ArchiveError(
                .hardlinkEscape, "hardlink `\(entry.path)` -> `\(raw)`: the target does not exist in this layer")
        }
        // The walk below may close cached descriptors; keep our own.
        let targetParent = dup(cachedTargetParent)
        guard targetParent >= 0 else { throw Syscall.failure("cannot duplicate a descriptor") }
        defer { Syscall.close(targetParent) }
        guard let info = try Syscall.lstat(targetParent, target.name) else {
            throw ArchiveError(
                .hardlinkEscape, "hardlink `\(entry.path)` -> `\(raw)`: the target does not exist in this layer")
        }
        guard Syscall.isRegular(info) else {
            throw ArchiveError(
                .hardlinkEscape, "hardlink `\(entry.path)` -> `\(raw)`: the target is not a regular file")
        }
        if target == path { return }
        let parent = try directory(path.parent, entry: entry.path)
        if let existing = try Syscall.lstat(parent, path.name), existing.st_ino == info.st_ino,
            existing.st_dev == info.st_dev
        {
            return
        }
        if linkat(targetParent, target.name, parent, path.name, 0) != 0 {
            guard errno == EEXIST else { throw Syscall.failure("cannot create hardlink `\(entry.path)`") }
            try clear(parent, path)
            guard linkat(targetParent, target.name, parent, path.name, 0) == 0 else {
                throw Syscall.failure("cannot create hardlink `\(entry.path)`")
            }
        }
    }

    // MARK: - Extended attributes

    /// Policy: apply every xattr the layer carries (user., trusted., security., system.),
    /// except `trusted.overlay.*`, which overlayfs reads as its own metadata (opaque,
    /// redirect, metacopy): a layer must not forge it, so it is skipped and counted. A failure
    /// is an error, except `security.*` on a filesystem that does not support it
    /// (EOPNOTSUPP), which is skipped and counted in ``UnpackStats/skippedXattrs``: such
    /// attributes (SELinux labels, IMA) are host policy, not image content.
    private func shouldApply(_ xattr: TarExtendedAttribute, _ entry: TarEntry) throws(ArchiveError) -> Bool {
        if xattr.name.hasPrefix("trusted.overlay.") {
            stats.skippedXattrs += 1
            return false
        }
        return true
    }

    private func xattrFailed(_ xattr: TarExtendedAttribute, _ entry: TarEntry) throws(ArchiveError) {
        if xattr.name.hasPrefix("security."), errno == EOPNOTSUPP {
            stats.skippedXattrs += 1
            return
        }
        throw Syscall.failure("cannot set extended attribute `\(xattr.name)` on `\(entry.path)`")
    }
}
