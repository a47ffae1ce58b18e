import Foundation
import HTTPTypes
import Hummingbird

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
        try granted.authorize(needed, on: repository)
    }

    static func challenge(_ message: String) -> RegistryError {
        var error = RegistryError(.unauthorized, message)
        error.headers[.wwwAuthenticate] = "Basic realm=\"skiff\""
        return error
    }
}
