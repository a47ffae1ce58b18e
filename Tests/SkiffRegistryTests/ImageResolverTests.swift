import Foundation
import SkiffOCI
import SkiffRegistry
import Testing

/// What `--image` resolves to, and the errors a deploy reports when it cannot: their codes
/// become HTTP statuses and their messages are printed by the CLI, so both are pinned here.
@Suite struct ImageResolverTests {
    @Test func anImageThatWasNeverLoadedIsNotFoundWithHowToLoadIt() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let error = await #expect(throws: ImageError.self) { try await fixture.resolver().digest(for: "hello:v1") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "image hello:v1 not found: load it with `skiff images load DIR --tag hello:v1`")
    }

    @Test func aDigestThatIsNotStoredIsNotFound() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let error = await #expect(throws: ImageError.self) {
            try await fixture.resolver().digest(for: "hello@\(digest)")
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "image hello@\(digest) not found: no manifest \(digest) is loaded")
    }

    @Test func anInvalidReferenceIsAnInvalidArgument() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let error = await #expect(throws: ImageError.self) { try await fixture.resolver().digest(for: "Hello World") }
        #expect(error?.code == .invalidArgument)
    }

    @Test func anotherRegistryWithoutPullThroughIsAnInvalidArgument() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let error = await #expect(throws: ImageError.self) {
            try await fixture.resolver().digest(for: "ghcr.io/team/app:v1")
        }
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message
                == "image ghcr.io/team/app:v1 names registry ghcr.io, and this server does not pull from registries; push or load it"
        )
    }

    @Test func theServersOwnRegistryHostResolvesLocally() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1")
        _ = try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)
        let resolver = fixture.resolver { _ throws(OCIError) in throw OCIError(.io, "must not pull") }
        #expect(try await resolver.digest(for: "REGISTRY.local:5000/hello:v1").description == archive.manifest)
    }

    @Test func aManifestTheUpstreamDoesNotHaveIsNotFoundAndKeepsItsCause() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let resolver = fixture.resolver { _ throws(OCIError) in throw OCIError(.manifestNotFound, "no tag v1") }
        let error = await #expect(throws: ImageError.self) { try await resolver.digest(for: "ghcr.io/team/app:v1") }
        #expect(error?.code == .notFound)
        #expect(error?.message == "cannot pull ghcr.io/team/app:v1: no tag v1")
        #expect((error?.cause as? OCIError)?.code == .manifestNotFound)
        #expect(error.map { "\($0)" } == "cannot pull ghcr.io/team/app:v1: no tag v1", "the cause is said once")
    }

    @Test func anyOtherPullFailureIsAnInvalidArgument() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let resolver = fixture.resolver { _ throws(OCIError) in throw OCIError(.io, "connection refused") }
        let error = await #expect(throws: ImageError.self) { try await resolver.digest(for: "ghcr.io/team/app:v1") }
        #expect(error?.code == .invalidArgument)
    }
}
