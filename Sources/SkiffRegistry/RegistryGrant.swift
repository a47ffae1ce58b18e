public import SkiffModel

/// What a token may do in the registry.
public enum RegistryAccess: Sendable {
    /// `GET` and `HEAD`: pull.
    case read
    /// Everything else: push, mount, delete.
    case write
}

/// A token's access and the repositories it covers (nil: all).
///
/// The registry's rules for tokens live here, and only here: which role may push, and what a
/// scope such as `team/*` covers. The API only finds the token a request carries.
public struct RegistryGrant: Sendable, Hashable {
    public var access: RegistryAccess
    public var repositories: [String]?

    public init(access: RegistryAccess, repositories: [String]? = nil) {
        self.access = access
        self.repositories = repositories
    }

    /// What a Skiff token of `role` may do: `read` tokens pull; `write` and `admin` tokens
    /// push and delete too; within `repositories` when the token is limited to them.
    public init(role: TokenRole, repositories: [String]?) {
        self.init(access: role == .read ? .read : .write, repositories: repositories)
    }

    /// Refuses, with the spec's DENIED, what this grant does not allow. `repository` is nil
    /// for the base endpoint `/v2/`, which every valid token may read.
    public func authorize(_ needed: RegistryAccess, on repository: String?) throws(RegistryError) {
        if let repository, !TokenSummary.scope(repositories, covers: repository) {
            throw RegistryError(.denied, "this token does not cover repository \(repository)")
        }
        if needed == .write, access == .read {
            throw RegistryError(.denied, "this token may pull but not push or delete")
        }
    }
}
