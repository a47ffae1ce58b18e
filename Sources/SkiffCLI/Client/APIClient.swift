import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SkiffModel

/// A typed client of the control-plane API (docs/api.md): one method per route, returning
/// the model types; every failure is a ``CLIError`` with one line a person can act on.
///
/// It owns one `HTTPClient`, created by ``with(server:token:_:)`` and shut down when the
/// body returns. Not `HTTPClient.shared`: that client retries refused connections with
/// backoff until its connect timeout, and a CLI must say "cannot reach" at once.
struct APIClient: Sendable {
    /// Base URL without a trailing `/`, e.g. `http://127.0.0.1:7070`.
    let server: String
    let token: String?
    private let http: HTTPClient

    /// How long an ordinary call may take: a deploy resolves an image, a delete drains instances.
    static let requestTimeout: Duration = .seconds(300)
    /// The largest JSON answer read into memory.
    static let maxResponseSize = 64 << 20

    private init(server: String, token: String?, http: HTTPClient) {
        self.server = Self.normalized(server)
        self.token = token
        self.http = http
    }

    /// Runs `body` with a client for `server`, shutting the connection pool down afterwards
    /// whether `body` succeeded or threw.
    static func with<Result>(
        server: String, token: String?, _ body: (APIClient) async throws -> Result
    ) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        configuration.decompression = .disabled
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let client = APIClient(server: server, token: token, http: http)
        let result: Result
        do {
            result = try await body(client)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
        return result
    }

    static func normalized(_ server: String) -> String {
        var url = server
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    // MARK: Services

    func services() async throws(CLIError) -> [Service] {
        try await decode([Service].self, from: send(.GET, "/v1/services"))
    }

    func service(_ name: ServiceName) async throws(CLIError) -> Service {
        try await decode(Service.self, from: send(.GET, "/v1/services/\(name)"))
    }

    /// The service, or `nil` when the server has none by that name.
    func serviceIfExists(_ name: ServiceName) async throws(CLIError) -> Service? {
        do {
            return try await service(name)
        } catch  where error.status == 404 && error.apiCode == "not_found" {
            return nil
        }
    }

    /// Creates or updates; `created` tells which (201 or 200).
    func deploy(
        _ name: ServiceName, spec: ServiceSpec, options: DeployOptions = DeployOptions()
    ) async throws(CLIError) -> (service: Service, created: Bool) {
        let response = try await send(
            .PUT, "/v1/services/\(name)", body: try Self.json(DeployRequest(spec: spec, options: options)),
            contentType: "application/json")
        let created = response.status == .created
        return (try await decode(Service.self, from: response), created)
    }

    /// Replaces the service's traffic.
    func setTraffic(_ name: ServiceName, _ traffic: [TrafficTarget]) async throws(CLIError) -> Service {
        try await decode(
            Service.self,
            from: send(
                .PUT, "/v1/services/\(name)/traffic", body: try Self.json(traffic), contentType: "application/json"))
    }

    func rollback(_ name: ServiceName, to revision: String?) async throws(CLIError) -> Service {
        try await decode(
            Service.self,
            from: send(
                .POST, "/v1/services/\(name)/rollback", body: try Self.json(RollbackRequest(revision: revision)),
                contentType: "application/json"))
    }

    private static func json(_ value: some Encodable) throws(CLIError) -> HTTPClientRequest.Body {
        do {
            return .bytes(ByteBuffer(data: try JSONEncoder().encode(value)))
        } catch {
            throw CLIError(.invalidInput, "cannot encode the request: \(error)", cause: error)
        }
    }

    func revisions(of service: ServiceName?) async throws(CLIError) -> [RevisionSummary] {
        let query = service.map { Self.queryString([("service", $0.rawValue)]) } ?? ""
        return try await decode([RevisionSummary].self, from: send(.GET, "/v1/revisions" + query))
    }

    /// The service's recent events, oldest first; only one revision's when given.
    func events(of service: ServiceName, revision: String? = nil) async throws(CLIError) -> [ServiceEvent] {
        let query = revision.map { Self.queryString([("revision", $0)]) } ?? ""
        return try await decode([ServiceEvent].self, from: send(.GET, "/v1/services/\(service)/events" + query))
    }

    func revision(_ name: String) async throws(CLIError) -> RevisionSummary {
        try await decode(RevisionSummary.self, from: send(.GET, "/v1/revisions/\(name)"))
    }

    func deleteRevision(_ name: String) async throws(CLIError) {
        let response = try await send(.DELETE, "/v1/revisions/\(name)")
        _ = try await collect(response)
    }

    func deleteService(_ name: ServiceName) async throws(CLIError) {
        let response = try await send(.DELETE, "/v1/services/\(name)")
        _ = try await collect(response)
    }

    /// The instances of one service, or of every service when `name` is `nil`.
    func instances(of name: ServiceName?) async throws(CLIError) -> [Instance] {
        let path = name.map { "/v1/services/\($0)/instances" } ?? "/v1/instances"
        return try await decode([Instance].self, from: send(.GET, path))
    }

    /// The log stream: a text body the caller reads as it arrives (it never ends with `follow`).
    func logs(of name: ServiceName, follow: Bool, tail: Int?, ended: Bool = false) async throws(CLIError)
        -> HTTPClientResponse.Body
    {
        var query: [(String, String)] = []
        if follow { query.append(("follow", "true")) }
        if ended { query.append(("ended", "true")) }
        if let tail { query.append(("tail", String(tail))) }
        let response = try await send(.GET, "/v1/services/\(name)/logs" + Self.queryString(query), timeout: nil)
        return response.body
    }

    // MARK: Images

    func images(repository: String? = nil) async throws(CLIError) -> [ImageSummary] {
        let query = repository.map { Self.queryString([("repository", $0)]) } ?? ""
        return try await decode([ImageSummary].self, from: send(.GET, "/v1/images" + query))
    }

    /// Removes a tag (`NAME:TAG`) or a manifest with its tags (`NAME@sha256:…`).
    func deleteImage(_ ref: String) async throws(CLIError) {
        _ = try await send(.DELETE, "/v1/images" + Self.queryString([("ref", ref)]))
    }

    func collectGarbage(dryRun: Bool) async throws(CLIError) -> GarbageCollectionResult {
        let query = dryRun ? Self.queryString([("dryRun", "true")]) : ""
        return try await decode(GarbageCollectionResult.self, from: send(.POST, "/v1/images/gc" + query, timeout: nil))
    }

    /// Sends an oci-archive (a tar of an OCI image layout) to be stored under `tag` or the ref's name.
    func loadImage(
        archive: HTTPClientRequest.Body, ref: String?, tag: String?
    ) async throws(CLIError) -> LoadImageResult {
        var query: [(String, String)] = []
        if let ref { query.append(("ref", ref)) }
        if let tag { query.append(("tag", tag)) }
        let response = try await send(
            .POST, "/v1/images/load" + Self.queryString(query), body: archive, contentType: "application/x-tar",
            timeout: nil)
        return try await decode(LoadImageResult.self, from: response)
    }

    // MARK: Registry credentials

    func saveRegistryCredential(host: String, username: String, password: String) async throws(CLIError) {
        let body = (try? JSONEncoder().encode(["username": username, "password": password])) ?? Data()
        _ = try await send(
            .PUT, "/v1/registries/\(host)/credentials", body: .bytes(ByteBuffer(bytes: body)),
            contentType: "application/json")
    }

    func deleteRegistryCredential(host: String) async throws(CLIError) {
        _ = try await send(.DELETE, "/v1/registries/\(host)/credentials")
    }

    // MARK: Tokens

    func createToken(role: String, repositories: [String]?) async throws(CLIError) -> CreatedToken {
        struct Body: Encodable {
            var role: String
            var repositories: [String]?
        }
        let body = (try? JSONEncoder().encode(Body(role: role, repositories: repositories))) ?? Data()
        return try await decode(
            CreatedToken.self,
            from: send(.POST, "/v1/tokens", body: .bytes(ByteBuffer(bytes: body)), contentType: "application/json"))
    }

    func tokens() async throws(CLIError) -> [TokenSummary] {
        try await decode([TokenSummary].self, from: send(.GET, "/v1/tokens"))
    }

    func deleteToken(_ id: String) async throws(CLIError) {
        _ = try await send(.DELETE, "/v1/tokens/\(id)")
    }

    // MARK: Transport

    /// Sends a request; answers other than 2xx become ``CLIError``s carrying the API's message.
    func send(
        _ method: HTTPMethod, _ path: String, body: HTTPClientRequest.Body? = nil, contentType: String? = nil,
        timeout: Duration? = APIClient.requestTimeout
    ) async throws(CLIError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        request.headers.add(name: "User-Agent", value: "skiff-cli")
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = body }
        let deadline: NIODeadline
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            deadline = .now() + .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        } else {
            deadline = .distantFuture
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: deadline)
        } catch let error as CLIError {
            throw error  // from a request body stream (a file that changed while being sent)
        } catch {
            throw ConnectionFailure.describe(error, server: server)
        }
        guard (200..<300).contains(response.status.code) else {
            let bytes = (try? await response.body.collect(upTo: 1 << 20)).map { Data(buffer: $0) } ?? Data()
            throw Self.apiError(status: Int(response.status.code), body: bytes, server: server)
        }
        return response
    }

    /// The error a non-2xx answer means, from its `{"error":{"code","message"}}` body.
    static func apiError(status: Int, body: Data, server: String) -> CLIError {
        let parsed = try? JSONDecoder().decode(APIErrorBody.self, from: body)
        if status == 401 {
            return CLIError(
                .unauthorized, "the server rejected the token (401): run skiff login", apiCode: parsed?.error.code,
                status: status)
        }
        if let parsed {
            return CLIError(.api, oneLine(parsed.error.message), apiCode: parsed.error.code, status: status)
        }
        let text = oneLine(String(decoding: body.prefix(200), as: UTF8.self))
        return CLIError(
            .badResponse,
            "the server at \(server) answered \(status)" + (text.isEmpty ? "" : ": \(text)")
                + " (is it a Skiff server?)",
            status: status)
    }

    private func collect(_ response: HTTPClientResponse) async throws(CLIError) -> Data {
        do {
            return Data(buffer: try await response.body.collect(upTo: Self.maxResponseSize))
        } catch {
            throw CLIError(.badResponse, "cannot read the answer of \(server): \(error)", cause: error)
        }
    }

    private func decode<Value: Decodable>(
        _ type: Value.Type, from response: HTTPClientResponse
    ) async throws(CLIError) -> Value {
        let data = try await collect(response)
        do {
            return try Self.decoder.decode(Value.self, from: data)
        } catch {
            throw CLIError(
                .badResponse, "cannot understand the answer of \(server): \(oneLine(String(describing: error)))",
                cause: error)
        }
    }

    /// RFC 3339 times, with or without fractional seconds.
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? Date(text, strategy: .iso8601) { return date }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return date
            }
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time: \(text)"))
        }
        return decoder
    }()

    static func queryString(_ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return "" }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return "?"
            + items.map { key, value in
                "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
            }.joined(separator: "&")
    }
}

/// Folds a multi-line message onto one line: the CLI prints exactly one error line.
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        .joined(separator: " ")
}
