import Foundation

/// What `skiff images load` was given: an OCI image layout directory, optionally with the
/// ref name of one of its manifests (`DIR:REF`), or an oci-archive file sent as it is.
enum ImageSource: Hashable, Sendable {
    case layout(directory: String, ref: String?)
    case archive(file: String, ref: String?)

    /// What a path is on disk, as the parser needs to know it.
    enum PathKind: Sendable {
        case directory
        case file
        case missing
    }

    /// Splits `DIR[:REF]` or `FILE[:REF]`. A path may itself contain `:`, so the text is taken
    /// whole when it exists; otherwise it is split at the last `:` only when the part before
    /// it exists.
    static func parse(_ text: String, kind: (String) -> PathKind = ImageSource.kind(of:)) throws(CLIError)
        -> ImageSource
    {
        switch kind(text) {
        case .directory: return .layout(directory: text, ref: nil)
        case .file: return .archive(file: text, ref: nil)
        case .missing: break
        }
        if let colon = text.lastIndex(of: ":") {
            let path = String(text[..<colon])
            let ref = String(text[text.index(after: colon)...])
            let pathKind = path.isEmpty ? .missing : kind(path)
            if pathKind != .missing {
                guard !ref.isEmpty, !ref.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                    throw CLIError(
                        .invalidInput, "invalid image ref \"\(ref)\" after \(path): expected DIR:REF, e.g. ./hello:v1")
                }
                return pathKind == .directory ? .layout(directory: path, ref: ref) : .archive(file: path, ref: ref)
            }
        }
        throw CLIError(.invalidInput, "cannot read \(text): no such file or directory")
    }

    static func kind(of path: String) -> PathKind {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .missing }
        return isDirectory.boolValue ? .directory : .file
    }

    var ref: String? {
        switch self {
        case .layout(_, let ref), .archive(_, let ref): ref
        }
    }

    var path: String {
        switch self {
        case .layout(let directory, _): directory
        case .archive(let file, _): file
        }
    }
}
