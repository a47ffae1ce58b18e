import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SkiffAPI
import SkiffController
import SkiffGateway
import SkiffOCI
import SkiffRegistry
import SkiffRuntime
import SkiffStore
import SkiffTestSupport
import SystemPackage
import Testing

@Suite struct APIRoutesTests {
    /// Each test has its own (Swift Testing makes a suite value per test); `withAPI` removes it.
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }

    init() throws {
        temporary = try TemporaryDirectory()
    }

    func withAPI(_ body: @escaping @Sendable (any TestClientProtocol, String) async throws -> Void) async throws {
        defer { temporary.remove() }
        try FileManager.default.createDirectory(atPath: directory + "/tmp", withIntermediateDirectories: true)
        let store = try Store(path: directory + "/skiff.db")
        let blobs = try BlobStore(root: FilePath(directory + "/blobs"))
        let snapshots = try SnapshotStore(root: FilePath(directory + "/snapshots"), blobs: blobs)
        let token = try #require(try await AdminToken.bootstrap(store: store, tokenFile: directory + "/admin.token"))
        let controller = Controller(
            configuration: .init(), store: store,
            resolver: ImageResolver(store: store, blobs: blobs, snapshots: snapshots),
            // A runtime that never runs anything: these tests exercise the API's edge (auth,
            // decoding, errors), not instances — the end-to-end tests do that with runc.
            runtime: FakeRuntime(startError: RuntimeError(.runtime, "not available in API tests")),
            routing: RoutingTable(), logger: Logger(label: "test"))
        let api = ControlPlaneAPI(
            controller: controller, store: store, loader: ImageLoader(store: store, blobs: blobs, snapshots: snapshots),
            uploadDirectory: directory + "/tmp", logFile: { _ in "/nonexistent" }, version: "test")
        let app = Application(router: api.router())
        try await app.test(.router) { client in try await body(client, token) }
    }

    @Test func adminTokenFileIsPrivate() async throws {
        try await withAPI { _, token in
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/admin.token")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(token.hasPrefix("skf_"))
            #expect(try String(contentsOfFile: directory + "/admin.token", encoding: .utf8).contains(token))
        }
    }

    @Test func healthNeedsNoTokenButEverythingElseDoes() async throws {
        try await withAPI { client, _ in
            try await client.execute(uri: "/v1/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/services", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] != nil)
                #expect(String(buffer: response.body).contains(#""code":"unauthorized""#))
            }
            try await client.execute(uri: "/v1/services", method: .get, headers: [.authorization: "Bearer skf_wrong"]) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test func registryTokensAreMadeShownOnceAndKeptOffTheControlPlane() async throws {
        try await withAPI { client, admin in
            let auth: HTTPFields = [.authorization: "Bearer \(admin)", .contentType: "application/json"]
            var created = ""
            var id = ""
            try await client.execute(
                uri: "/v1/tokens", method: .post, headers: auth,
                body: ByteBuffer(string: #"{"role":"write","repositories":["team/*"]}"#)
            ) { response in
                #expect(response.status == .created)
                let body =
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                created = body?["token"] as? String ?? ""
                id = (body?["summary"] as? [String: Any])?["id"] as? String ?? ""
            }
            #expect(created.hasPrefix("skf_"))
            try await client.execute(uri: "/v1/tokens", method: .get, headers: auth) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(id) && text.contains("team/*"))
                #expect(!text.contains(created), "a listed token never shows the secret")
            }
            try await client.execute(uri: "/v1/services", method: .get, headers: [.authorization: "Bearer \(created)"])
            {
                #expect($0.status == .forbidden, "a registry token cannot use the control plane")
                #expect(String(buffer: $0.body).contains("token \(id) is a write token for the registry (/v2) only"))
            }
            for bad in [
                #"{"role":"root"}"#, #"{"role":"admin","repositories":["team/*"]}"#,
                #"{"role":"read","repositories":["Team/*"]}"#,
            ] {
                try await client.execute(uri: "/v1/tokens", method: .post, headers: auth, body: ByteBuffer(string: bad))
                {
                    #expect($0.status == .badRequest, "\(bad)")
                }
            }
            try await client.execute(uri: "/v1/tokens/\(id)", method: .delete, headers: auth) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/v1/tokens/admin", method: .delete, headers: auth) {
                #expect($0.status == .conflict)
            }
        }
    }

    @Test func listsNothingOnAFreshServer() async throws {
        try await withAPI { client, token in
            try await client.execute(uri: "/v1/services", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            }
        }
    }

    @Test(arguments: [
        ("/v1/services/Bad_Name", #"{"image":"hello:v1"}"#, 400, "invalid service name"),
        ("/v1/services/web", #"{"port":8080}"#, 400, "missing field"),
        ("/v1/services/web", #"{"image":"hello:v1","memory":"lots"}"#, 400, "invalid memory"),
        ("/v1/services/web", #"{"image":"hello:v1","port":0}"#, 400, "invalid port"),
        ("/v1/services/web", #"{"image":"hello:v1","portProtocol":"h2"}"#, 400, "portProtocol: invalid port protocol"),
        ("/v1/services/web", "not json", 400, "invalid JSON"),
        ("/v1/services/web", #"{"image":"nosuch:v1"}"#, 404, "image nosuch:v1 not found"),
    ])
    func rejectsBadDeploysWithAPreciseError(path: String, body: String, status: Int, message: String) async throws {
        try await withAPI { client, token in
            try await client.execute(
                uri: path, method: .put,
                headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status.code == status)
                #expect(String(buffer: response.body).contains(message), "\(String(buffer: response.body))")
            }
            try await client.execute(uri: "/v1/services", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                #expect(String(buffer: $0.body).trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            }
        }
    }

    @Test func unknownServiceIsNotFound() async throws {
        try await withAPI { client, token in
            for (path, method) in [
                ("/v1/services/ghost", HTTPRequest.Method.get), ("/v1/services/ghost", .delete),
                ("/v1/services/ghost/instances", .get),
            ] {
                try await client.execute(uri: path, method: method, headers: [.authorization: "Bearer \(token)"]) {
                    #expect($0.status == .notFound)
                    #expect(String(buffer: $0.body).contains(#"service \"ghost\" not found"#))
                }
            }
        }
    }
}
