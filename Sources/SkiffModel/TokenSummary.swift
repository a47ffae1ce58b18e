public import Foundation

/// An API token as it is listed: never the token itself, which is shown once at creation.
public struct TokenSummary: Codable, Sendable, Hashable {
    public var id: String
    /// `admin` (the whole API), `write` (push and pull) or `read` (pull).
    public var role: TokenRole
    /// Repositories a registry token is limited to (`team/app`, or `team/*` for everything
    /// under `team/`); nil means every repository.
    public var repositories: [String]?
    public var createdAt: Date

    public init(id: String, role: TokenRole, repositories: [String]?, createdAt: Date) {
        self.id = id
        self.role = role
        self.repositories = repositories
        self.createdAt = createdAt
    }

    /// Whether the token's scope covers `repository`.
    public func covers(_ repository: String) -> Bool {
        Self.scope(repositories, covers: repository)
    }

    public static func scope(_ repositories: [String]?, covers repository: String) -> Bool {
        guard let repositories else { return true }
        return repositories.contains { pattern in
            if pattern.hasSuffix("/*") { return repository.hasPrefix(pattern.dropLast()) }
            return pattern == repository
        }
    }

    /// A scope pattern: a repository name, optionally ending in `/*`.
    public static func isValidPattern(_ pattern: String) -> Bool {
        let name = pattern.hasSuffix("/*") ? String(pattern.dropLast(2)) : pattern
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { component in
            !component.isEmpty
                && component.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "._-".contains($0)) }
        }
    }
}

/// What `POST /v1/tokens` answers: the token, once.
public struct CreatedToken: Codable, Sendable, Hashable {
    public var token: String
    public var summary: TokenSummary

    public init(token: String, summary: TokenSummary) {
        self.token = token
        self.summary = summary
    }
}
