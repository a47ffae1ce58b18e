import Crypto
import Foundation
public import Hummingbird
import SkiffModel
import SkiffOCI
public import SkiffStore

/// Every API request but the health check carries `Authorization: Bearer TOKEN`; only the
/// token's SHA-256 is stored, so the database alone never grants access.
///
/// A known token's ``Principal`` goes into the context; what the principal may do is
/// decided after it (``AdminOnly``).
public struct TokenAuthenticator: RouterMiddleware {
    public typealias Context = APIRequestContext

    let store: Store

    public init(store: Store) { self.store = store }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing token: send Authorization: Bearer TOKEN (see DATA_DIR/admin.token)")
        }
        let token: Substring
        if header.lowercased().hasPrefix("bearer ") {
            token = header.dropFirst("bearer ".count)
        } else {
            throw APIError.unauthorized("unsupported authorization scheme: use Bearer")
        }
        guard let summary = try await store.token(hash: TokenHash.of(token)) else {
            throw APIError.unauthorized("invalid token")
        }
        var context = context
        context.principal = Principal(tokenID: summary.id, role: summary.role)
        return try await next(request, context)
    }
}

/// The control plane is for admin tokens: read and write tokens are registry credentials,
/// for CI and clusters. Runs after ``TokenAuthenticator`` and reads the principal it found.
struct AdminOnly: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let principal = context.principal else {
            throw APIError.unauthorized("missing token: send Authorization: Bearer TOKEN (see DATA_DIR/admin.token)")
        }
        guard principal.role == .admin else {
            throw APIError(
                .forbidden, code: "forbidden",
                "token \(principal.tokenID) is a \(principal.role.rawValue) token for the registry (/v2) only")
        }
        return try await next(request, context)
    }
}

/// How tokens are made and hashed for storage.
public enum TokenHash {
    /// A new random token: `skf_` and 256 bits in hex.
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return "skf_" + (0..<32).map { _ in String(format: "%02x", generator.next() as UInt8) }.joined()
    }

    public static func of(_ token: some StringProtocol) -> String {
        Digest(sha256: SHA256.hash(data: Array(token.utf8))).encoded
    }
}
