import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SkiffOCI
import SkiffRegistry
import SkiffStore
import SkiffTestSupport
import SystemPackage
import Testing

/// A push cannot store a blob over the registry's per-blob limit: a declared length over it
/// is refused before a byte is read, a streamed one the moment it crosses, always with
/// 413 SIZE_INVALID naming the limit, and nothing stays behind (no blob, no upload file).
@Suite struct BlobLimitTests {
    static let limit: Int64 = 1024

    struct Fixture {
        let client: any TestClientProtocol
        let blobs: BlobStore

        /// Files in the blob store's ingest directory: uploads in progress or left behind.
        func ingesting() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: blobs.root.string + "/ingest")
        }
    }

    func withRegistry(_ body: @Sendable (Fixture) async throws -> Void) async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let store = try Store(path: temporary.path + "/skiff.db")
        let blobs = try BlobStore(root: FilePath(temporary.path + "/blobs"))
        let registry = Registry(store: store, blobs: blobs, prefetcher: nil, maxBlobSize: Self.limit) { _ in
            RegistryGrant(access: .write)
        }
        let router = Router()
        registry.register(on: router)
        try await Application(router: router).test(.router) { client in
            try await body(Fixture(client: client, blobs: blobs))
        }
    }

    static func expectTooLarge(_ response: TestResponse) {
        #expect(response.status == .contentTooLarge)
        #expect(RegistryProtocolTests.errorCode(response) == "SIZE_INVALID")
        let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
        #expect(text.contains("per-blob limit of 1024 bytes"), "\(text)")
    }

    @Test func aMonolithicUploadOverTheLimitIsRefusedAndNothingStays() async throws {
        try await withRegistry { fixture in
            let blob = [UInt8](repeating: 1, count: 2048)
            let digest = RegistryProtocolTests.digest(blob)
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/uploads/?digest=\(digest)", method: .post,
                headers: RegistryProtocolTests.headers(), body: ByteBuffer(bytes: blob)
            ) { Self.expectTooLarge($0) }
            #expect(!fixture.blobs.contains(try Digest(digest)))
            #expect(try fixture.ingesting().isEmpty)
        }
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedBeforeTheBody() async throws {
        try await withRegistry { fixture in
            let blob = [UInt8](repeating: 1, count: 2048)
            let digest = RegistryProtocolTests.digest(blob)
            try await fixture.client.execute(
                uri: "/v2/team/app/blobs/uploads/?digest=\(digest)", method: .post,
                headers: RegistryProtocolTests.headers(RegistryProtocolTests.writer, [.contentLength: "2048"]),
                body: ByteBuffer(bytes: blob)
            ) {
                Self.expectTooLarge($0)
                let text = String(decoding: $0.body.readableBytesView, as: UTF8.self)
                #expect(text.contains("blob of 2048 bytes"), "\(text)")
            }
            #expect(try fixture.ingesting().isEmpty)
        }
    }

    @Test func aChunkedUploadCrossingTheLimitIsDiscarded() async throws {
        try await withRegistry { fixture in
            let client = fixture.client
            let location = try await RegistryProtocolTests.startUpload(client)
            try await client.execute(
                uri: location, method: .patch, headers: RegistryProtocolTests.headers(),
                body: ByteBuffer(bytes: [UInt8](repeating: 2, count: 600))
            ) { #expect($0.status == .accepted) }
            try await client.execute(
                uri: location, method: .patch, headers: RegistryProtocolTests.headers(),
                body: ByteBuffer(bytes: [UInt8](repeating: 2, count: 600))
            ) { Self.expectTooLarge($0) }
            try await client.execute(uri: location, method: .get, headers: RegistryProtocolTests.headers()) {
                #expect($0.status == .notFound)
                #expect(RegistryProtocolTests.errorCode($0) == "BLOB_UPLOAD_UNKNOWN")
            }
            #expect(try fixture.ingesting().isEmpty)
        }
    }

    @Test func aChunkWhoseRangeEndsPastTheLimitIsRefused() async throws {
        try await withRegistry { fixture in
            let client = fixture.client
            let location = try await RegistryProtocolTests.startUpload(client)
            try await client.execute(
                uri: location, method: .patch,
                headers: RegistryProtocolTests.headers(RegistryProtocolTests.writer, [.contentRange: "0-4095"]),
                body: ByteBuffer(bytes: [UInt8](repeating: 3, count: 4096))
            ) { Self.expectTooLarge($0) }
            #expect(try fixture.ingesting().isEmpty)
        }
    }

    @Test func aBlobOfExactlyTheLimitIsStored() async throws {
        try await withRegistry { fixture in
            let blob = [UInt8](repeating: 4, count: Int(Self.limit))
            let digest = try await RegistryProtocolTests.push(blob, fixture.client)
            #expect(fixture.blobs.contains(try Digest(digest)))
        }
    }
}
