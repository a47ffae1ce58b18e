import Foundation
import Hummingbird
import SkiffModel
import SkiffStore

/// `/v1/tokens`: more tokens beside the admin one, e.g. a `write` token for CI limited to
/// `team/*`, or a `read` token for a cluster that pulls. A token is shown once, at creation;
/// only its hash is stored.
struct TokenRoutes {
    let store: Store

    struct CreateRequest: Decodable {
        var role: String
        var repositories: [String]?
    }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("tokens") { _, _ in
            JSONResponse.make(try await store.tokens())
        }
        group.post("tokens") { request, context in
            let body = try await request.decode(as: CreateRequest.self, context: context)
            guard let role = TokenRole(rawValue: body.role) else {
                throw APIError.invalid("invalid role \"\(body.role)\": use admin, write or read")
            }
            if let repositories = body.repositories {
                guard role != .admin else { throw APIError.invalid("admin tokens cannot be limited to repositories") }
                guard !repositories.isEmpty else {
                    throw APIError.invalid("repositories must name at least one, or be left out")
                }
                for pattern in repositories where !TokenSummary.isValidPattern(pattern) {
                    throw APIError.invalid(
                        "invalid repository pattern \"\(pattern)\": a name like team/app, or team/* for all under team/"
                    )
                }
            }
            let token = TokenHash.newToken()
            var generator = SystemRandomNumberGenerator()
            let id =
                "\(role.rawValue)-" + (0..<4).map { _ in String(format: "%02x", generator.next() as UInt8) }.joined()
            try await store.addToken(id: id, hash: TokenHash.of(token), role: role, repositories: body.repositories)
            let summary = TokenSummary(id: id, role: role, repositories: body.repositories, createdAt: Date())
            return JSONResponse.make(CreatedToken(token: token, summary: summary), status: .created)
        }
        group.delete("tokens/:id") { _, context in
            let id = try context.parameters.require("id")
            guard id != "admin" else {
                throw APIError(.conflict, code: "conflict", "the first admin token cannot be deleted")
            }
            guard try await store.deleteToken(id: id) else { throw APIError.notFound("no token \(id)") }
            return Response(status: .noContent)
        }
    }
}
