#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension SnapshotWriter {
    /// Turns an OCI whiteout into what overlayfs understands in a lower layer: a 0:0
    /// character device for a deleted name, `trusted.overlay.opaque=y` for an opaque dir.
    func apply(_ whiteout: Whiteout, entry: TarEntry) throws(ArchiveError) {
        switch whiteout {
        case .remove(let parentComponents, let name):
            let parent = try directory(parentComponents, entry: entry.path)
            let target = EntryPath(components: Array(parentComponents) + [name])
            let device = mode_t(S_IFCHR)
            if mknodat(parent, name, device, 0) != 0 {
                guard errno == EEXIST else { throw Syscall.failure("cannot create whiteout for `\(entry.path)`") }
                try clear(parent, target)
                guard mknodat(parent, name, device, 0) == 0 else {
                    throw Syscall.failure("cannot create whiteout for `\(entry.path)`")
                }
            }
            guard fchownat(parent, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw Syscall.failure("cannot set owner of whiteout `\(entry.path)`")
            }
        case .opaque(let directoryComponents):
            let descriptor = try directory(directoryComponents, entry: entry.path)
            guard ExtendedAttributes.set(descriptor, "trusted.overlay.opaque", [UInt8(ascii: "y")]) == 0 else {
                throw Syscall.failure("cannot mark `\(entry.path)`'s directory opaque")
            }
        }
    }
}
