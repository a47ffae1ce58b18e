public import AsyncHTTPClient
import Crypto
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import SkiffOCI
public import SkiffStore

/// Pulls images from other registries through the OCI distribution API, into the local
/// content store, so `--image ghcr.io/org/app:v1` deploys like a local image.
///
/// Authentication follows the registries' token flow: a 401 with a `Bearer` challenge sends
/// us to the realm for a token (with the host's credentials when any are configured), then the
/// request is retried with it; a `Basic` challenge is answered with the credentials directly.
/// Blobs are cached by digest: a blob already in the store is never fetched again.
public struct UpstreamPuller: Sendable {
    public typealias Credentials = @Sendable (_ host: String) async -> (username: String, password: String)?

    let store: Store
    let blobs: BlobStore
    let http: HTTPClient
    let credentials: Credentials
    let logger: Logger

    public init(store: Store, blobs: BlobStore, http: HTTPClient, credentials: @escaping Credentials, logger: Logger) {
        self.store = store
        self.blobs = blobs
        self.http = http
        self.credentials = credentials
        self.logger = logger
    }

    static let manifestAccept = [
        MediaType.imageManifest, MediaType.imageIndex, MediaType.dockerManifest, MediaType.dockerManifestList,
    ].joined(separator: ", ")

    /// Fetches the image `reference` names (linux/amd64 from an index) and everything it
    /// needs; returns the image manifest's digest. The tag is recorded as `HOST/NAME:TAG`.
    public func pull(_ reference: Reference) async throws(OCIError) -> SkiffOCI.Digest {
        guard let host = reference.host, let repository = reference.repository else {
            throw OCIError(.invalidReference, "\(reference) names no registry")
        }
        var session = Session(puller: self, host: host, repository: repository)
        let wanted = reference.digest?.description ?? reference.effectiveTag ?? Reference.defaultTag
        logger.info("pulling \(reference)")
        var (digest, bytes, mediaType) = try await session.manifest(wanted)
        if let expected = reference.digest, expected != digest {
            throw OCIError(.digestMismatch, "registry \(host) answered \(reference) with content hashing to \(digest)")
        }
        let tagDigest = digest
        if ParsedManifest.indexTypes.contains(mediaType) {
            try store(bytes, digest)
            let index = try decode(Index.self, bytes, what: "index \(digest)")
            guard
                let chosen = index.manifests.first(where: {
                    $0.platform?.os == "linux" && $0.platform?.architecture == "amd64"
                })
                    ?? (index.manifests.count == 1 ? index.manifests.first : nil)
            else {
                throw OCIError(.manifestNotFound, "\(reference) has no linux/amd64 image")
            }
            (digest, bytes, mediaType) = try await session.manifest(chosen.digest.description)
            guard digest == chosen.digest else {
                throw OCIError(
                    .digestMismatch, "registry \(host) answered \(chosen.digest) with content hashing to \(digest)")
            }
        }
        let manifest = try decode(Manifest.self, bytes, what: "manifest \(digest)")
        let needed = [manifest.config] + manifest.layers
        let total = needed.reduce(Int64(0)) { $0 + $1.size }
        var fetched: Int64 = 0
        for (position, blob) in needed.enumerated() {
            if blobs.contains(blob.digest) { continue }
            try await session.blob(blob)
            fetched += blob.size
            logger.info(
                "pulled \(reference): blob \(position + 1) of \(needed.count), \(fetched >> 20) of \(total >> 20) MiB fetched"
            )
        }
        try store(bytes, digest)
        let row = ManifestRow(
            repository: "\(host)/\(repository)", digest: tagDigest.description, mediaType: mediaType,
            size: Int64(bytes.count))
        do {
            try await store.putManifest(
                row, tag: reference.digest == nil ? (reference.effectiveTag ?? Reference.defaultTag) : nil,
                imageSize: Int64(bytes.count) + total)
        } catch {
            throw OCIError(.io, "cannot record \(reference): \(error)")
        }
        logger.info("pulled \(reference) as \(digest)")
        return digest
    }

    private func store(_ bytes: [UInt8], _ digest: Digest) throws(OCIError) {
        if !blobs.contains(digest) { try blobs.put(bytes, expected: digest) }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws(OCIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw OCIError(.invalidManifest, "\(what) is malformed: \(error)")
        }
    }

    /// One pull's conversation with a registry: the scheme and the token, once earned.
    struct Session {
        let puller: UpstreamPuller
        let host: String
        let repository: String
        var authorization: String?

        init(puller: UpstreamPuller, host: String, repository: String) {
            self.puller = puller
            self.host = host
            self.repository = repository
        }

        /// Loopback registries speak plain HTTP, as Docker and skopeo assume; others HTTPS.
        var base: String {
            let name = host.split(separator: ":").first.map(String.init) ?? host
            let plain = ["localhost", "127.0.0.1", "[::1]"].contains(name) || host.hasPrefix("[::1]")
            return "\(plain ? "http" : "https")://\(host)/v2/\(repository)"
        }

        mutating func manifest(_ reference: String) async throws(OCIError) -> (Digest, [UInt8], String) {
            let response = try await get("\(base)/manifests/\(reference)", accept: UpstreamPuller.manifestAccept)
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: Registry.manifestLimit)
            } catch {
                throw OCIError(.invalidManifest, "manifest \(reference) from \(host) is too large or cut off: \(error)")
            }
            let bytes = Array(body.readableBytesView)
            let digest = Digest(sha256: SHA256.hash(data: bytes))
            let mediaType =
                (try? ParsedManifest(bytes: bytes, contentType: response.headers.first(name: "content-type")))?
                .mediaType
                ?? response.headers.first(name: "content-type") ?? ""
            return (digest, bytes, mediaType)
        }

        mutating func blob(_ descriptor: Descriptor) async throws(OCIError) {
            let response = try await get("\(base)/blobs/\(descriptor.digest)", accept: "*/*")
            let writer = try puller.blobs.ingest(expected: descriptor.digest, expectedSize: descriptor.size)
            do {
                for try await buffer in response.body {
                    try buffer.withUnsafeReadableBytes { bytes throws(OCIError) in try writer.write(bytes) }
                }
                _ = try writer.commit()
            } catch let error as OCIError {
                writer.abort()
                throw error
            } catch {
                writer.abort()
                throw OCIError(.io, "download of \(descriptor.digest) from \(host) failed: \(error)")
            }
        }

        /// GET with the session's authorization; a 401 is answered once by the challenge.
        mutating func get(_ url: String, accept: String) async throws(OCIError) -> HTTPClientResponse {
            var response = try await send(url, accept: accept)
            if response.status == .unauthorized {
                let challenge = response.headers.first(name: "www-authenticate") ?? ""
                authorization = try await authorize(challenge)
                response = try await send(url, accept: accept)
            }
            guard response.status == .ok else {
                let status = response.status
                if status == .unauthorized || status == .forbidden {
                    throw OCIError(
                        .io, "registry \(host) refused access to \(repository) (\(status.code)): check its credentials")
                }
                if status == .notFound {
                    throw OCIError(
                        .manifestNotFound,
                        "\(host)/\(repository): \(url.split(separator: "/").suffix(2).joined(separator: "/")) not found"
                    )
                }
                throw OCIError(.io, "registry \(host) answered \(status.code) for \(url)")
            }
            return response
        }

        private func send(_ url: String, accept: String) async throws(OCIError) -> HTTPClientResponse {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: accept)
            request.headers.add(name: "User-Agent", value: "skiff")
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            do {
                return try await puller.http.execute(request, timeout: .minutes(30))
            } catch {
                throw OCIError(.io, "cannot reach registry \(host): \(error)")
            }
        }

        /// The Authorization header a challenge asks for.
        private func authorize(_ challenge: String) async throws(OCIError) -> String {
            let credentials = await puller.credentials(host)
            let basic = credentials.map { "Basic " + Data("\($0.username):\($0.password)".utf8).base64EncodedString() }
            let lower = challenge.lowercased()
            if lower.hasPrefix("basic") {
                guard let basic else {
                    throw OCIError(.io, "registry \(host) needs credentials: run `skiff registries login \(host)`")
                }
                return basic
            }
            guard lower.hasPrefix("bearer") else {
                throw OCIError(.io, "registry \(host) asks for unsupported authentication: \(challenge)")
            }
            let parameters = Self.challengeParameters(String(challenge.dropFirst("bearer".count)))
            guard let realm = parameters["realm"], var components = URLComponents(string: realm) else {
                throw OCIError(.io, "registry \(host) sent a Bearer challenge without a realm")
            }
            var query = components.queryItems ?? []
            if let service = parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
            query.append(URLQueryItem(name: "scope", value: parameters["scope"] ?? "repository:\(repository):pull"))
            components.queryItems = query
            guard let tokenURL = components.string else {
                throw OCIError(.io, "registry \(host) sent an unusable realm \(realm)")
            }
            var request = HTTPClientRequest(url: tokenURL)
            if let basic { request.headers.add(name: "Authorization", value: basic) }
            struct TokenAnswer: Decodable {
                var token: String?
                var access_token: String?
            }
            do {
                let response = try await puller.http.execute(request, timeout: .seconds(60))
                let body = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok,
                    let answer = try? JSONDecoder().decode(TokenAnswer.self, from: Data(body.readableBytesView)),
                    let token = answer.token ?? answer.access_token
                else {
                    throw OCIError(
                        .io, "the token service of \(host) refused (\(response.status.code)): check its credentials")
                }
                return "Bearer \(token)"
            } catch let error as OCIError {
                throw error
            } catch {
                throw OCIError(.io, "cannot reach the token service of \(host): \(error)")
            }
        }

        /// `realm="…",service="…",scope="…"` into a dictionary.
        static func challengeParameters(_ text: String) -> [String: String] {
            var result: [String: String] = [:]
            var rest = Substring(text).drop { $0 == " " }
            while let equals = rest.firstIndex(of: "=") {
                let key = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " ,")).lowercased()
                rest = rest[rest.index(after: equals)...]
                var value = ""
                if rest.first == "\"" {
                    rest = rest.dropFirst()
                    let end = rest.firstIndex(of: "\"") ?? rest.endIndex
                    value = String(rest[..<end])
                    rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[end...]
                } else {
                    let end = rest.firstIndex(of: ",") ?? rest.endIndex
                    value = String(rest[..<end])
                    rest = rest[end...]
                }
                result[key] = value
                rest = rest.drop { $0 == "," || $0 == " " }
            }
            return result
        }
    }
}
