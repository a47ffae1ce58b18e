import Foundation
public import Hummingbird
import HTTPTypes

import SkiffModel

/// What a token may do in the registry.
public enum RegistryAccess: Sendable {
    case read
    case write
}

/// A token's access and the repositories it covers (nil: all).
public struct RegistryGrant: Sendable {
    public var access: RegistryAccess
    public var repositories: [String]?

    public init(access: RegistryAccess, repositories: [String]? = nil) {
        self.access = access
        self.repositories = repositories
    }
}

/// Registry clients authenticate with HTTP Basic (any user name, a Skiff token as the
/// password: what `docker login` and `skopeo --creds` send) or with `Bearer TOKEN`.
/// Anything else is answered with the spec's 401 and a challenge the clients understand.
struct RegistryAuthenticator: Sendable {
    /// What a token grants, or nil for an unknown token.
    let grant: @Sendable (String) async -> RegistryGrant?

    func require(_ needed: RegistryAccess, on repository: String?, for request: Request) async throws(RegistryError) {
        guard let header = request.headers[.authorization] else {
            throw Self.challenge("authentication required: use a Skiff token as the password")
        }
        let token: String
        if header.count > 6, header.prefix(6).lowercased() == "basic " {
            guard let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                throw Self.challenge("malformed Basic credentials")
            }
            token = String(text[text.index(after: colon)...])
        } else if header.count > 7, header.prefix(7).lowercased() == "bearer " {
            token = String(header.dropFirst(7))
        } else {
            throw Self.challenge("unsupported authorization scheme: use Basic or Bearer")
        }
        guard let granted = await grant(token) else {
            throw Self.challenge("invalid token")
        }
        if let repository, !TokenSummary.scope(granted.repositories, covers: repository) {
            throw RegistryError(.denied, "this token does not cover repository \(repository)")
        }
        if needed == .write, granted.access == .read {
            throw RegistryError(.denied, "this token may pull but not push or delete")
        }
    }

    static func challenge(_ message: String) -> RegistryError {
        var error = RegistryError(.unauthorized, message)
        error.headers[.wwwAuthenticate] = "Basic realm=\"skiff\""
        return error
    }
}
