import Glibc

/// The instance's root filesystem: an overlay of the image's snapshot directories (shared,
/// never written) under a private upper directory.
///
/// `mount(2)` takes at most one page of options. When the snapshot paths do not fit, the
/// mount goes through short symlinks `INSTANCE/l/N` to each snapshot instead; if even those
/// do not fit, it fails with an error saying so.
enum OverlayMount {
    static let optionLimit = 4095

    /// The `mount` data string; lowerdir lists the top layer first.
    static func options(lowerDirs: [String], upper: String, work: String) -> String {
        let lower = lowerDirs.reversed().map(escape).joined(separator: ":")
        return "lowerdir=\(lower),upperdir=\(escape(upper)),workdir=\(escape(work))"
    }

    /// Mounts the overlay at `target`. `lowerDirs` is base layer first; `linkDir` is where
    /// the short symlinks go when the paths are too long.
    static func mount(lowerDirs: [String], upper: String, work: String, target: String, linkDir: String)
        throws(RuntimeError)
    {
        var data = options(lowerDirs: lowerDirs, upper: upper, work: work)
        if data.utf8.count > optionLimit {
            guard mkdir(linkDir, 0o700) == 0 || errno == EEXIST else {
                throw RuntimeError(.mount, "cannot create \(linkDir): \(Errno.text(errno))")
            }
            var links: [String] = []
            for (index, directory) in lowerDirs.enumerated() {
                let link = "\(linkDir)/\(index)"
                guard symlink(directory, link) == 0 || errno == EEXIST else {
                    throw RuntimeError(.mount, "cannot create \(link): \(Errno.text(errno))")
                }
                links.append(link)
            }
            data = options(lowerDirs: links, upper: upper, work: work)
            guard data.utf8.count <= optionLimit else {
                throw RuntimeError(
                    .mount,
                    "cannot mount \(lowerDirs.count) layers at \(target): the overlay options take \(data.utf8.count) bytes even with short links, more than the kernel's \(optionLimit)"
                )
            }
        }
        guard Glibc.mount("overlay", target, "overlay", 0, data) == 0 else {
            let code = errno
            throw RuntimeError(.mount, "cannot mount the overlay root filesystem at \(target): \(Errno.text(code))")
        }
    }

    /// Detaches the mount at `target`; not mounted is success.
    static func unmount(_ target: String) throws(RuntimeError) {
        if umount2(target, Int32(MNT_DETACH)) != 0, errno != EINVAL, errno != ENOENT {
            throw RuntimeError(.mount, "cannot unmount \(target): \(Errno.text(errno))")
        }
    }

    /// Overlay's option syntax reserves `\`, `:` and `,`.
    private static func escape(_ path: String) -> String {
        var result = ""
        for character in path {
            if character == "\\" || character == ":" || character == "," { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
