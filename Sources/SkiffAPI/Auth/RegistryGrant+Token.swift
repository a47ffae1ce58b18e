import SkiffModel
public import SkiffRegistry
public import SkiffStore

extension RegistryGrant {
    /// The grant of the stored token a registry client sent, or nil for an unknown token.
    /// Tokens are found here, by their hash as the API stores them; what a token's role and
    /// scope allow is the registry's rule (``RegistryGrant/init(role:repositories:)``).
    public static func granted(to token: String, by store: Store) async -> RegistryGrant? {
        guard let summary = try? await store.token(hash: TokenHash.of(token)) else { return nil }
        return RegistryGrant(role: summary.role, repositories: summary.repositories)
    }
}
