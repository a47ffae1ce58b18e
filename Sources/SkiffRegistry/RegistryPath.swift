import SkiffOCI

/// What a `/v2/…` path names. Repository names may contain `/`, so the path is read from the
/// right: the last `blobs`, `manifests`, `tags` or `referrers` component ends the name.
enum RegistryPath: Equatable {
    case base
    case blob(repository: String, digest: String)
    case uploads(repository: String)
    case upload(repository: String, id: String)
    case manifest(repository: String, reference: String)
    case tags(repository: String)
    case referrers(repository: String, digest: String)

    /// Parses the components after `/v2`; nil when the shape is unknown (404).
    /// Throws NAME_INVALID when the shape is right but the repository name is not.
    init?(components: [Substring]) throws(RegistryError) {
        let parts = components.map(String.init)
        if parts.isEmpty {
            self = .base
            return
        }
        func name(_ count: Int) throws(RegistryError) -> String {
            let name = parts[..<count].joined(separator: "/")
            guard count > 0, name.utf8.count <= 255, Reference.isValidRepository(name) else {
                throw RegistryError(.nameInvalid, "invalid repository name \"\(name)\"")
            }
            return name
        }
        let n = parts.count
        if n >= 4, parts[n - 3] == "blobs", parts[n - 2] == "uploads" {
            self = .upload(repository: try name(n - 3), id: parts[n - 1])
        } else if n >= 3, parts[n - 2] == "blobs", parts[n - 1] == "uploads" {
            self = .uploads(repository: try name(n - 2))
        } else if n >= 3, parts[n - 2] == "blobs" {
            self = .blob(repository: try name(n - 2), digest: parts[n - 1])
        } else if n >= 3, parts[n - 2] == "manifests" {
            self = .manifest(repository: try name(n - 2), reference: parts[n - 1])
        } else if n >= 3, parts[n - 2] == "tags", parts[n - 1] == "list" {
            self = .tags(repository: try name(n - 2))
        } else if n >= 3, parts[n - 2] == "referrers" {
            self = .referrers(repository: try name(n - 2), digest: parts[n - 1])
        } else {
            return nil
        }
    }
}

extension RegistryPath {
    /// The repository a request touches; nil for the base endpoint.
    var repository: String? {
        switch self {
        case .base: nil
        case .blob(let repository, _), .uploads(let repository), .upload(let repository, _),
            .manifest(let repository, _), .tags(let repository), .referrers(let repository, _):
            repository
        }
    }
}
