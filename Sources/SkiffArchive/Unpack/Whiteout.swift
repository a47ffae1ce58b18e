/// An OCI whiteout entry (image-spec layer.md, "Whiteouts"), validated.
///
/// `dir/.wh.NAME` deletes `dir/NAME` from lower layers; `dir/.wh..wh..opq` hides all of
/// `dir`'s lower content. Whiteout entries must be regular files (as the spec's writers
/// produce); any other `.wh.`-prefixed shape is rejected rather than guessed at, since the
/// prefix is reserved.
enum Whiteout {
    static let prefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"

    /// Delete `name` inside the directory `parent`.
    case remove(parent: ArraySlice<String>, name: String)
    /// Mark the directory `directory` opaque.
    case opaque(directory: ArraySlice<String>)

    /// nil if `path` is not a whiteout.
    init?(path: EntryPath, entry: TarEntry) throws(ArchiveError) {
        let base = path.name
        guard base.hasPrefix(Self.prefix) else { return nil }
        guard entry.type == .regular else {
            throw ArchiveError(.whiteoutInvalid, "whiteout `\(entry.path)` is a \(entry.type), not a regular file")
        }
        if base == Self.opaqueMarker {
            self = .opaque(directory: path.parent)
            return
        }
        if base.hasPrefix(Self.prefix + Self.prefix) {
            throw ArchiveError(.whiteoutInvalid, "entry `\(entry.path)` uses the reserved `.wh..wh.` prefix")
        }
        let name = String(base.dropFirst(Self.prefix.count))
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
            throw ArchiveError(.whiteoutInvalid, "whiteout `\(entry.path)` does not name a valid file")
        }
        self = .remove(parent: path.parent, name: name)
    }
}
