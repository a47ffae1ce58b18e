import SkiffOCI
import Testing

@Suite struct DigestTests {
    @Test func parsesSHA256() throws {
        let hex = String(repeating: "ab", count: 32)
        let digest = try Digest("sha256:\(hex)")
        #expect(digest.algorithm == "sha256")
        #expect(digest.encoded == hex)
        #expect(digest.description == "sha256:\(hex)")
    }

    @Test(arguments: [
        "sha256:baddigeststring", "sha256:" + String(repeating: "A", count: 64), "md5:abc", "sha256",
        "sha256:" + String(repeating: "a", count: 63), "sha256:../" + String(repeating: "a", count: 61), "",
    ])
    func rejectsMalformed(text: String) {
        #expect(throws: OCIError.self) { try Digest(text) }
    }

    @Test func hashesBytes() {
        // SHA-256 of the empty string.
        let digest = Digest(sha256: [0xe3, 0xb0, 0xc4, 0x42])
        #expect(digest.encoded.hasPrefix("e3b0c442"))
    }
}

@Suite struct ReferenceTests {
    @Test func localNameWithTag() throws {
        let reference = try Reference("hello:v1")
        #expect(reference.host == nil)
        #expect(reference.repository == "hello")
        #expect(reference.tag == "v1")
        #expect(reference.localName == "hello:v1")
    }

    @Test func defaultsToLatest() throws {
        #expect(try Reference("team/app").localName == "team/app:latest")
    }

    @Test func hostWithPort() throws {
        let reference = try Reference("localhost:7070/team/app:v2")
        #expect(reference.host == "localhost:7070")
        #expect(reference.repository == "team/app")
        #expect(reference.tag == "v2")
    }

    @Test func digestReference() throws {
        let hex = String(repeating: "0", count: 64)
        let reference = try Reference("app@sha256:\(hex)")
        #expect(reference.digest?.encoded == hex)
        #expect(reference.localName == nil)
        #expect(try Reference("sha256:\(hex)").repository == nil)
    }

    @Test(arguments: ["Hello:v1", "hello:", "hello:-v1", "a//b", "../etc", "hello world", "app@sha256:short", "-x"])
    func rejects(text: String) {
        #expect(throws: OCIError.self) { try Reference(text) }
    }
}
