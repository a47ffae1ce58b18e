public import Hummingbird
public import SkiffModel

/// Who a request to `/v1` came from: the token ``TokenAuthenticator`` found, by its id
/// (never the token itself) and role.
public struct Principal: Sendable, Hashable {
    /// The token's id, e.g. `admin` or `write-1a2b3c4d`.
    public var tokenID: String
    public var role: TokenRole

    public init(tokenID: String, role: TokenRole) {
        self.tokenID = tokenID
        self.role = role
    }
}

/// The API's request context: Hummingbird's core storage and the principal the
/// authenticator found, so what comes after it reads who is asking instead of asking again.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``TokenAuthenticator`` before any `/v1` route but the health check runs; nil
    /// on the routes without a token (`/v1/health`, `/metrics`, and `/v2`, which
    /// authenticates by itself).
    public var principal: Principal?

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
