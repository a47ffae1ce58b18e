import Crypto
public import Hummingbird
import SkiffOCI
public import SkiffStore

/// Every API request but the health check carries `Authorization: Bearer TOKEN`; only the
/// token's SHA-256 is stored, so the database alone never grants access.
public struct TokenAuthenticator<Context: RequestContext>: RouterMiddleware {
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
        guard try await store.tokenRole(hash: TokenHash.of(token)) != nil else {
            throw APIError.unauthorized("invalid token")
        }
        return try await next(request, context)
    }
}

/// How tokens are hashed for storage.
public enum TokenHash {
    public static func of(_ token: some StringProtocol) -> String {
        Digest(sha256: SHA256.hash(data: Array(token.utf8))).encoded
    }
}
