import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SkiffModel
import SkiffOCI
import SkiffRegistry
import SkiffStore
import SkiffTestSupport
import SystemPackage
import Testing

/// The distribution spec's endpoints and errors, against the registry's router.
@Suite struct RegistryProtocolTests {
    static let writer = "Basic " + Data("skiff:write-token".utf8).base64EncodedString()
    static let reader = "Bearer read-token"

    struct Fixture {
        let client: any TestClientProtocol
        let store: Store
        let blobs: BlobStore
    }

    func withRegistry(_ body: @Sendable (Fixture) async throws -> Void) async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.path
        let store = try Store(path: directory + "/skiff.db")
        let blobs = try BlobStore(root: FilePath(directory + "/blobs"))
        let registry = Registry(store: store, blobs: blobs, prefetcher: nil) { token in
            switch token {
            case "write-token": RegistryGrant(access: .write)
            case "read-token": RegistryGrant(access: .read)
            case "team-token": RegistryGrant(access: .write, repositories: ["team/*"])
            default: nil
            }
        }
        let router = Router()
        registry.register(on: router)
        try await Application(router: router).test(.router) { client in
            try await body(Fixture(client: client, store: store, blobs: blobs))
        }
    }

    static func digest(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func headers(_ auth: String = writer, _ extra: HTTPFields = [:]) -> HTTPFields {
        var fields: HTTPFields = [.authorization: auth]
        fields.append(contentsOf: extra)
        return fields
    }

    static func errorCode(_ response: TestResponse) -> String? {
        struct Body: Decodable {
            struct Entry: Decodable { var code: String }
            var errors: [Entry]
        }
        return (try? JSONDecoder().decode(Body.self, from: Data(response.body.readableBytesView)))?.errors.first?.code
    }

    /// Pushes a blob with the single-request upload and returns its digest.
    @discardableResult
    static func push(_ bytes: [UInt8], to repository: String = "team/app", _ client: any TestClientProtocol)
        async throws -> String
    {
        let digest = digest(bytes)
        try await client.execute(
            uri: "/v2/\(repository)/blobs/uploads/?digest=\(digest)", method: .post, headers: headers(),
            body: ByteBuffer(bytes: bytes)
        ) { #expect($0.status == .created) }
        return digest
    }

    /// Opens an upload session and returns its location, for chunks to be sent to.
    static func startUpload(to repository: String = "team/app", _ client: any TestClientProtocol) async throws
        -> String
    {
        var location = ""
        try await client.execute(uri: "/v2/\(repository)/blobs/uploads/", method: .post, headers: headers()) {
            #expect($0.status == .accepted)
            location = $0.headers[.location] ?? ""
        }
        return location
    }

    /// An image manifest over a pushed config and layer; returns its bytes.
    static func manifest(
        config: String, configSize: Int, layer: String, layerSize: Int, subject: String? = nil,
        artifactType: String? = nil
    ) -> [UInt8] {
        var object: [String: Any] = [
            "schemaVersion": 2, "mediaType": MediaType.imageManifest,
            "config": ["mediaType": MediaType.imageConfig, "digest": config, "size": configSize],
            "layers": [["mediaType": MediaType.layerTarGzip, "digest": layer, "size": layerSize]],
        ]
        if let subject { object["subject"] = ["mediaType": MediaType.imageManifest, "digest": subject, "size": 100] }
        if let artifactType { object["artifactType"] = artifactType }
        return Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// Pushes a config, a layer and a manifest tagged `tag`; returns the manifest digest.
    static func pushImage(
        _ tag: String, repository: String = "team/app", layer: [UInt8] = Array("layer".utf8), subject: String? = nil,
        artifactType: String? = nil, _ client: any TestClientProtocol
    ) async throws -> String {
        let config = Array(#"{"architecture":"amd64","os":"linux"}"#.utf8)
        let configDigest = try await push(config, to: repository, client)
        let layerDigest = try await push(layer, to: repository, client)
        let bytes = manifest(
            config: configDigest, configSize: config.count, layer: layerDigest, layerSize: layer.count,
            subject: subject,
            artifactType: artifactType)
        try await client.execute(
            uri: "/v2/\(repository)/manifests/\(tag)", method: .put,
            headers: headers(writer, [.contentType: MediaType.imageManifest]), body: ByteBuffer(bytes: bytes)
        ) { response in
            #expect(response.status == .created)
            #expect(response.headers[.location] == "/v2/\(repository)/manifests/\(digest(bytes))")
        }
        return digest(bytes)
    }

    // MARK: Auth

    @Test func everyEndpointNeedsATokenAndPushNeedsWrite() async throws {
        try await withRegistry { fixture in
            try await fixture.client.execute(uri: "/v2/", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Basic realm=\"skiff\"")
                #expect(Self.errorCode(response) == "UNAUTHORIZED")
                #expect(response.headers[HTTPField.Name("Docker-Distribution-API-Version")!] == "registry/2.0")
            }
            try await fixture.client.execute(
                uri: "/v2/", method: .get, headers: Self.headers("Basic " + Data("u:wrong".utf8).base64EncodedString())
            ) {
                #expect($0.status == .unauthorized)
            }
            try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.headers()) {
                #expect($0.status == .ok)
            }
            try await fixture.client.execute(uri: "/v2/", method: .get, headers: Self.headers(Self.reader)) {
                #expect($0.status == .ok)
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/uploads/", method: .post, headers: Self.headers(Self.reader)
            ) { response in
                #expect(response.status == .forbidden)
                #expect(Self.errorCode(response) == "DENIED")
            }
            // A token limited to team/* pushes there and nowhere else.
            let team = "Bearer team-token"
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/uploads/", method: .post, headers: Self.headers(team)
            ) {
                #expect($0.status == .accepted)
            }
            try await fixture.client.execute(
                uri: "/v2/other/app/blobs/uploads/", method: .post, headers: Self.headers(team)
            ) { response in
                #expect(response.status == .forbidden)
                #expect(Self.errorCode(response) == "DENIED")
            }
            try await fixture.client.execute(uri: "/v2/teamx/tags/list", method: .get, headers: Self.headers(team)) {
                #expect($0.status == .forbidden, "team/* does not cover teamx")
            }
        }
    }

    // MARK: Blobs

    @Test func blobsByDigestWithRanges() async throws {
        try await withRegistry { fixture in
            let bytes = Array("0123456789".utf8)
            let digest = try await Self.push(bytes, fixture.client)
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/\(digest)", method: .head, headers: Self.headers(Self.reader)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentLength] == "10")
                #expect(response.headers[HTTPField.Name("Docker-Content-Digest")!] == digest)
            }
            try await fixture.client.execute(uri: "/v2/team/app/blobs/\(digest)", method: .get, headers: Self.headers())
            {
                #expect(String(buffer: $0.body) == "0123456789")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/\(digest)", method: .get,
                headers: Self.headers(Self.writer, [.range: "bytes=2-5"])
            ) { response in
                #expect(response.status == .partialContent)
                #expect(response.headers[.contentRange] == "bytes 2-5/10")
                #expect(String(buffer: response.body) == "2345")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/\(digest)", method: .get,
                headers: Self.headers(Self.writer, [.range: "bytes=20-30"])
            ) { response in
                #expect(response.status == .rangeNotSatisfiable)
                #expect(response.headers[.contentRange] == "bytes */10")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/sha256:baddigeststring", method: .get, headers: Self.headers()
            ) {
                #expect($0.status == .badRequest)
                #expect(Self.errorCode($0) == "DIGEST_INVALID")
            }
            let unknown = Self.digest(Array("nope".utf8))
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/\(unknown)", method: .get, headers: Self.headers()
            ) {
                #expect($0.status == .notFound)
                #expect(Self.errorCode($0) == "BLOB_UNKNOWN")
            }
        }
    }

    @Test func aBlobThatDoesNotMatchItsDigestIsNotStored() async throws {
        try await withRegistry { fixture in
            let claimed = Self.digest(Array("expected".utf8))
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/uploads/?digest=\(claimed)", method: .post, headers: Self.headers(),
                body: ByteBuffer(string: "something else")
            ) { response in
                #expect(response.status == .badRequest)
                #expect(Self.errorCode(response) == "DIGEST_INVALID")
            }
            #expect(!fixture.blobs.contains(try Digest(claimed)))
            let ingest = try FileManager.default.contentsOfDirectory(
                atPath: fixture.blobs.root.appending("ingest").string)
            #expect(ingest.isEmpty, "a rejected upload leaves no temporary file")
        }
    }

    @Test func monolithicAndChunkedUploads() async throws {
        try await withRegistry { fixture in
            let client = fixture.client
            // POST then PUT with the whole body.
            var location = ""
            try await client.execute(uri: "/v2/team/app/blobs/uploads/", method: .post, headers: Self.headers()) {
                response in
                #expect(response.status == .accepted)
                #expect(response.headers[.range] == "0-0")
                location = response.headers[.location] ?? ""
            }
            let whole = Array("monolithic".utf8)
            try await client.execute(
                uri: location + "?digest=\(Self.digest(whole))", method: .put, headers: Self.headers(),
                body: ByteBuffer(bytes: whole)
            ) {
                #expect($0.status == .created)
            }
            #expect(fixture.blobs.contains(try Digest(Self.digest(whole))))

            // Chunked: two PATCHes, an out-of-order one refused, status, then PUT.
            location = try await Self.startUpload(client)
            try await client.execute(
                uri: location, method: .patch, headers: Self.headers(Self.writer, [.contentRange: "0-4"]),
                body: ByteBuffer(string: "hello")
            ) { response in
                #expect(response.status == .accepted)
                #expect(response.headers[.range] == "0-4")
            }
            try await client.execute(
                uri: location, method: .patch, headers: Self.headers(Self.writer, [.contentRange: "9-11"]),
                body: ByteBuffer(string: "xyz")
            ) { response in
                #expect(response.status == .rangeNotSatisfiable)
                #expect(response.headers[.range] == "0-4")
            }
            try await client.execute(
                uri: location, method: .patch, headers: Self.headers(Self.writer, [.contentRange: "5-9"]),
                body: ByteBuffer(string: "ab")
            ) { response in
                #expect(response.status == .rangeNotSatisfiable, "a range of 5 bytes with a body of 2")
            }
            try await client.execute(uri: location, method: .get, headers: Self.headers()) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.range] == "0-4")
            }
            try await client.execute(
                uri: location, method: .patch, headers: Self.headers(Self.writer, [.contentRange: "5-10"]),
                body: ByteBuffer(string: " world")
            ) { #expect($0.headers[.range] == "0-10") }
            let chunked = Array("hello world!".utf8)
            try await client.execute(
                uri: location + "?digest=\(Self.digest(chunked))", method: .put, headers: Self.headers(),
                body: ByteBuffer(string: "!")
            ) {
                #expect($0.status == .created)
                #expect($0.headers[.location] == "/v2/team/app/blobs/\(Self.digest(chunked))")
            }
            try await client.execute(uri: location, method: .get, headers: Self.headers()) {
                #expect($0.status == .notFound)
                #expect(Self.errorCode($0) == "BLOB_UPLOAD_UNKNOWN")
            }

            // Cancel.
            location = try await Self.startUpload(client)
            try await client.execute(uri: location, method: .delete, headers: Self.headers()) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: location, method: .delete, headers: Self.headers()) {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test func concurrentPushesOfTheSameBlobAllSucceedWithOneCopy() async throws {
        try await withRegistry { fixture in
            let bytes = Array(repeating: UInt8(ascii: "z"), count: 256 * 1024)
            let digest = Self.digest(bytes)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await Self.push(bytes, fixture.client) }
                }
                try await group.waitForAll()
            }
            let stored = try fixture.blobs.read(try Digest(digest), limit: 1 << 20)
            #expect(stored == bytes)
            let ingest = try FileManager.default.contentsOfDirectory(
                atPath: fixture.blobs.root.appending("ingest").string)
            #expect(ingest.isEmpty)
        }
    }

    @Test func crossRepositoryMount() async throws {
        try await withRegistry { fixture in
            let digest = try await Self.push(Array("shared".utf8), to: "one", fixture.client)
            try await fixture.client.execute(
                uri: "/v2/two/blobs/uploads/?mount=\(digest)&from=one", method: .post, headers: Self.headers()
            ) {
                #expect($0.status == .created)
                #expect($0.headers[.location] == "/v2/two/blobs/\(digest)")
            }
            let unknown = Self.digest(Array("absent".utf8))
            try await fixture.client.execute(
                uri: "/v2/two/blobs/uploads/?mount=\(unknown)&from=one", method: .post, headers: Self.headers()
            ) {
                #expect($0.status == .accepted, "an unknown blob falls back to a new upload")
            }
        }
    }

    // MARK: Manifests

    @Test func manifestsByTagAndDigest() async throws {
        try await withRegistry { fixture in
            let digest = try await Self.pushImage("v1", fixture.client)
            for reference in ["v1", digest] {
                try await fixture.client.execute(
                    uri: "/v2/team/app/manifests/\(reference)", method: .get, headers: Self.headers(Self.reader)
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == MediaType.imageManifest)
                    #expect(response.headers[HTTPField.Name("Docker-Content-Digest")!] == digest)
                    #expect(Self.digest(Array(buffer: response.body)) == digest)
                }
            }
            try await fixture.client.execute(uri: "/v2/team/app/manifests/v1", method: .head, headers: Self.headers()) {
                #expect($0.status == .ok)
                #expect($0.body.readableBytes == 0)
            }
            try await fixture.client.execute(uri: "/v2/team/app/manifests/v9", method: .get, headers: Self.headers()) {
                #expect($0.status == .notFound)
                #expect(Self.errorCode($0) == "MANIFEST_UNKNOWN")
            }
            let images = try await fixture.store.images()
            #expect(images.map(\.name) == ["team/app:v1"])
        }
    }

    @Test(arguments: [
        ".INVALID_MANIFEST_NAME", "-starts-with-a-dash", String(repeating: "t", count: 129), "sha256:nothex",
    ])
    func readingAnInvalidReferenceIsAnUnknownManifest(reference: String) async throws {
        try await withRegistry { fixture in
            _ = try await Self.pushImage("v1", fixture.client)
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/\(reference)", method: .get, headers: Self.headers(Self.reader)
            ) {
                #expect($0.status == .notFound)
                #expect(Self.errorCode($0) == "MANIFEST_UNKNOWN")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/\(reference)", method: .head, headers: Self.headers(Self.reader)
            ) {
                #expect($0.status == .notFound)
                #expect($0.body.readableBytes == 0)
            }
        }
    }

    @Test func pushingUnderAnInvalidTagIsRefusedAndChangesNothing() async throws {
        try await withRegistry { fixture in
            let config = try await Self.push(Array("{}".utf8), fixture.client)
            let layer = try await Self.push(Array("layer".utf8), fixture.client)
            let bytes = Self.manifest(config: config, configSize: 2, layer: layer, layerSize: 5)
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/.INVALID_MANIFEST_NAME", method: .put,
                headers: Self.headers(Self.writer, [.contentType: MediaType.imageManifest]),
                body: ByteBuffer(bytes: bytes)
            ) {
                #expect($0.status == .badRequest)
                #expect(Self.errorCode($0) == "MANIFEST_INVALID")
            }
            #expect(try await fixture.store.tags(repository: "team/app").isEmpty)
        }
    }

    @Test func badManifestsAreRefusedAndChangeNothing() async throws {
        try await withRegistry { fixture in
            let missing = Self.digest(Array("missing".utf8))
            let dangling = Self.manifest(config: missing, configSize: 7, layer: missing, layerSize: 7)
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/v1", method: .put,
                headers: Self.headers(Self.writer, [.contentType: MediaType.imageManifest]),
                body: ByteBuffer(bytes: dangling)
            ) {
                #expect($0.status == .badRequest)
                #expect(Self.errorCode($0) == "MANIFEST_BLOB_UNKNOWN")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/v1", method: .put,
                headers: Self.headers(Self.writer, [.contentType: MediaType.imageManifest]),
                body: ByteBuffer(string: "{not json")
            ) { #expect(Self.errorCode($0) == "MANIFEST_INVALID") }
            // A layer declared longer (or shorter) than what was pushed.
            let config = try await Self.push(Array("{}".utf8), fixture.client)
            let layer = try await Self.push(Array("12345".utf8), fixture.client)
            let lying = Self.manifest(config: config, configSize: 2, layer: layer, layerSize: 6)
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/v1", method: .put,
                headers: Self.headers(Self.writer, [.contentType: MediaType.imageManifest]),
                body: ByteBuffer(bytes: lying)
            ) {
                #expect($0.status == .badRequest)
                #expect(Self.errorCode($0) == "MANIFEST_INVALID")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/\(Self.digest(Array("other".utf8)))", method: .put,
                headers: Self.headers(Self.writer, [.contentType: MediaType.imageManifest]),
                body: ByteBuffer(bytes: dangling)
            ) { #expect(Self.errorCode($0) == "DIGEST_INVALID") }
            let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: Registry.manifestLimit + 1)
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/v1", method: .put,
                headers: Self.headers(Self.writer, [.contentType: MediaType.imageManifest]),
                body: huge
            ) { #expect($0.status == .contentTooLarge) }
            #expect(try await fixture.store.images().isEmpty)
            #expect(try await fixture.store.tags(repository: "team/app").isEmpty)
        }
    }

    @Test func indexesAndDockerMediaTypesAreAccepted() async throws {
        try await withRegistry { fixture in
            let child = try await Self.pushImage("amd64", fixture.client)
            let index = Array(
                try JSONSerialization.data(withJSONObject: [
                    "schemaVersion": 2, "mediaType": MediaType.dockerManifestList,
                    "manifests": [
                        [
                            "mediaType": MediaType.imageManifest, "digest": child, "size": 300,
                            "platform": ["architecture": "amd64", "os": "linux"],
                        ]
                    ],
                ]))
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/multi", method: .put,
                headers: Self.headers(Self.writer, [.contentType: MediaType.dockerManifestList]),
                body: ByteBuffer(bytes: index)
            ) { #expect($0.status == .created) }
            try await fixture.client.execute(uri: "/v2/team/app/manifests/multi", method: .get, headers: Self.headers())
            {
                #expect($0.headers[.contentType] == MediaType.dockerManifestList)
            }
        }
    }

    // MARK: Discovery and deletion

    @Test func tagsArePaginatedWithALinkHeader() async throws {
        try await withRegistry { fixture in
            for tag in ["c", "a", "b"] { _ = try await Self.pushImage(tag, fixture.client) }
            try await fixture.client.execute(uri: "/v2/team/app/tags/list?n=2", method: .get, headers: Self.headers()) {
                response in
                #expect(String(buffer: response.body) == #"{"name":"team/app","tags":["a","b"]}"#)
                #expect(
                    response.headers[HTTPField.Name("Link")!] == "</v2/team/app/tags/list?n=2&last=b>; rel=\"next\"")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/tags/list?n=2&last=b", method: .get, headers: Self.headers()
            ) { response in
                #expect(String(buffer: response.body) == #"{"name":"team/app","tags":["c"]}"#)
                #expect(response.headers[HTTPField.Name("Link")!] == nil)
            }
            try await fixture.client.execute(uri: "/v2/nobody/tags/list", method: .get, headers: Self.headers()) {
                #expect($0.status == .notFound)
                #expect(Self.errorCode($0) == "NAME_UNKNOWN")
            }
        }
    }

    @Test func invalidRepositoryNamesAreRefused() async throws {
        try await withRegistry { fixture in
            for path in [
                "/v2/Team/app/tags/list", "/v2/%2e%2e/app/tags/list", "/v2/a//b/tags/list", "/v2/-a/manifests/v1",
                "/v2/team/../app/tags/list", "/v2/../etc/blobs/uploads/",
            ] {
                try await fixture.client.execute(uri: path, method: .get, headers: Self.headers()) { response in
                    #expect(response.status == .badRequest, "\(path)")
                    #expect(Self.errorCode(response) == "NAME_INVALID", "\(path)")
                }
            }
        }
    }

    @Test func referrersListManifestsWithASubject() async throws {
        try await withRegistry { fixture in
            let image = try await Self.pushImage("v1", fixture.client)
            let signature = try await Self.pushImage(
                "sig", layer: Array("signature".utf8), subject: image, artifactType: "application/vnd.example.sig",
                fixture.client)
            _ = try await Self.pushImage(
                "sbom", layer: Array("sbom".utf8), subject: image, artifactType: "application/spdx+json", fixture.client
            )
            try await fixture.client.execute(
                uri: "/v2/team/app/referrers/\(image)", method: .get, headers: Self.headers()
            ) { response in
                #expect(response.headers[.contentType] == MediaType.imageIndex)
                let index = try JSONDecoder().decode(Index.self, from: Data(response.body.readableBytesView))
                #expect(index.manifests.count == 2)
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/referrers/\(image)?artifactType=application/vnd.example.sig", method: .get,
                headers: Self.headers()
            ) { response in
                #expect(response.headers[HTTPField.Name("OCI-Filters-Applied")!] == "artifactType")
                let index = try JSONDecoder().decode(Index.self, from: Data(response.body.readableBytesView))
                #expect(index.manifests.map(\.digest.description) == [signature])
                #expect(index.manifests.first?.artifactType == "application/vnd.example.sig")
            }
        }
    }

    @Test func deletingTagsManifestsAndBlobs() async throws {
        try await withRegistry { fixture in
            let layer = Array("only-here".utf8)
            let digest = try await Self.pushImage("v1", layer: layer, fixture.client)
            let layerDigest = Self.digest(layer)
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/\(layerDigest)", method: .delete, headers: Self.headers()
            ) {
                #expect($0.status == .forbidden, "a layer a manifest still needs is kept")
            }
            try await fixture.client.execute(uri: "/v2/team/app/manifests/v1", method: .delete, headers: Self.headers())
            {
                #expect($0.status == .accepted)
            }
            try await fixture.client.execute(uri: "/v2/team/app/manifests/v1", method: .get, headers: Self.headers()) {
                #expect($0.status == .notFound)
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/\(digest)", method: .get, headers: Self.headers()
            ) {
                #expect($0.status == .ok, "deleting a tag keeps the manifest")
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/\(digest)", method: .delete, headers: Self.headers()
            ) {
                #expect($0.status == .accepted)
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/manifests/\(digest)", method: .delete, headers: Self.headers()
            ) {
                #expect($0.status == .notFound)
            }
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/\(layerDigest)", method: .delete, headers: Self.headers()
            ) {
                #expect($0.status == .accepted)
            }
            #expect(!fixture.blobs.contains(try Digest(layerDigest)))
        }
    }

    @Test func garbageCollectionFreesOnlyUnreferencedBlobs() async throws {
        try await withRegistry { fixture in
            let kept = try await Self.pushImage("v1", layer: Array("kept".utf8), fixture.client)
            let orphan = try await Self.push(Array("orphan".utf8), fixture.client)
            let collector = GarbageCollector(store: fixture.store, blobs: fixture.blobs)
            let now = try await collector.collect(dryRun: true)
            #expect(now.removed.isEmpty, "fresh blobs are inside the grace period")
            let later = Date().addingTimeInterval(GarbageCollector.gracePeriod + 60)
            let dry = try await collector.collect(dryRun: true, now: later)
            #expect(dry.removed == [orphan])
            #expect(fixture.blobs.contains(try Digest(orphan)))
            let real = try await collector.collect(dryRun: false, now: later)
            #expect(real.removed == [orphan])
            #expect(!fixture.blobs.contains(try Digest(orphan)))
            #expect(fixture.blobs.contains(try Digest(kept)))
            #expect(fixture.blobs.contains(try Digest(Self.digest(Array("kept".utf8)))))

            // A manifest without mediaType (umoci writes them so), known only by a tag as
            // `images load` records it, still keeps its layers.
            let config = try await Self.push(Array(#"{"os":"linux"}"#.utf8), fixture.client)
            let layer = try await Self.push(Array("loaded-layer".utf8), fixture.client)
            var object = try #require(
                try JSONSerialization.jsonObject(
                    with: Data(Self.manifest(config: config, configSize: 14, layer: layer, layerSize: 12)))
                    as? [String: Any])
            object.removeValue(forKey: "mediaType")
            let bare = Array(try JSONSerialization.data(withJSONObject: object))
            let bareDigest = try fixture.blobs.put(bare)
            try await fixture.store.putImage(
                ImageSummary(name: "loaded:v1", digest: bareDigest.description, size: 1, createdAt: Date()))
            _ = try await collector.collect(dryRun: false, now: later)
            #expect(fixture.blobs.contains(try Digest(layer)), "the loaded image's layer is still needed")
            try await fixture.client.execute(uri: "/v2/loaded/manifests/v1", method: .get, headers: Self.headers()) {
                response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == MediaType.imageManifest)
            }
            try await fixture.client.execute(
                uri: "/v2/loaded/manifests/\(bareDigest)", method: .get, headers: Self.headers()
            ) {
                #expect($0.status == .ok, "a loaded manifest is served by digest too")
            }
        }
    }
}
