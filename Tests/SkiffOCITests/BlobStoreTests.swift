import Foundation
import SkiffOCI
import SkiffTestSupport
import SystemPackage
import Testing

@Suite struct BlobStoreTests {
    let directory: TemporaryDirectory
    var root: String { directory.path }
    let store: BlobStore

    init() throws {
        directory = try TemporaryDirectory()
        store = try BlobStore(root: FilePath(directory.path))
    }

    func cleanup() { directory.remove() }

    @Test func storesAndReadsByDigest() throws {
        defer { cleanup() }
        let digest = try store.put(Array("hello".utf8))
        #expect(digest.description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(try store.read(digest) == Array("hello".utf8))
        #expect(store.size(of: digest) == 5)
    }

    @Test func rejectsDigestMismatchAndLeavesNothing() throws {
        defer { cleanup() }
        let wrong = try Digest("sha256:" + String(repeating: "0", count: 64))
        #expect {
            try store.put(Array("hello".utf8), expected: wrong)
        } throws: { ($0 as? OCIError)?.code == .digestMismatch }
        #expect(!store.contains(wrong))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/sha256").isEmpty)
    }

    @Test func rejectsMoreBytesThanDeclared() throws {
        defer { cleanup() }
        let writer = try store.ingest(expected: nil, expectedSize: 3)
        #expect { try writer.write(Array("hello".utf8)) } throws: { ($0 as? OCIError)?.code == .sizeMismatch }
        writer.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
    }

    @Test func abandonedWriterLeavesNoBlob() throws {
        defer { cleanup() }
        do {
            let writer = try store.ingest(expected: nil, expectedSize: nil)
            try writer.write(Array("partial".utf8))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/sha256").isEmpty)
    }
}
