import Hummingbird
import SkiffStore

/// `/v1/registries/HOST/credentials`: what the server pulls through from another registry
/// with. Write-only: the password is never returned.
struct RegistryCredentialRoutes {
    let store: Store

    struct Body: Decodable {
        var username: String
        var password: String
    }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.put("registries/:host/credentials") { request, context in
            let host = try context.parameters.require("host")
            guard Self.isRegistryHost(host) else {
                throw APIError.invalid("invalid registry host \"\(host)\": expected HOST or HOST:PORT")
            }
            let body = try await request.decode(as: Body.self, context: context)
            guard !body.username.isEmpty, !body.password.isEmpty else {
                throw APIError.invalid("username and password must not be empty")
            }
            try await store.putRegistryCredential(host: host, username: body.username, password: body.password)
            return Response(status: .noContent)
        }
        group.delete("registries/:host/credentials") { _, context in
            let host = try context.parameters.require("host")
            guard try await store.deleteRegistryCredential(host: host) else {
                throw APIError.notFound("no credentials saved for \(host)")
            }
            return Response(status: .noContent)
        }
    }

    static func isRegistryHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255
            && host.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }
    }
}
