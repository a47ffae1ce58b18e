/// A validated, normalised entry path: relative, no `..`, no empty or `.` components.
///
/// Normalisation only drops `.` components, repeated and trailing slashes, so `./usr/bin/`
/// and `usr/bin` are the same entry. An empty result is the snapshot root itself, which
/// only a directory entry (`./`, as `tar -C dir .` writes) may name.
struct EntryPath: Equatable {
    /// Components from the root; empty for the root.
    let components: [String]

    init(components: [String]) {
        self.components = components
    }

    /// Validates an archive path. `what` names it in errors ("entry", "hardlink target").
    init(validating raw: String, maxDepth: Int, what: String = "entry") throws(ArchiveError) {
        guard !raw.isEmpty else {
            throw ArchiveError(.invalidPath, "\(what) has an empty path")
        }
        guard !raw.hasPrefix("/") else {
            throw ArchiveError(.absolutePath, "\(what) `\(raw)` is an absolute path")
        }
        var components: [String] = []
        for component in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                throw ArchiveError(.pathTraversal, "\(what) `\(raw)` has a `..` component and may escape the root")
            }
            components.append(String(component))
        }
        guard components.count <= maxDepth else {
            throw ArchiveError(.limitExceeded, "\(what) `\(raw)` is more than \(maxDepth) levels deep")
        }
        self.components = components
    }

    var isRoot: Bool { components.isEmpty }

    /// Final component; empty for the root.
    var name: String { components.last ?? "" }

    var parent: ArraySlice<String> { components.dropLast() }

    var string: String { components.isEmpty ? "." : components.joined(separator: "/") }
}
