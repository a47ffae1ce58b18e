import Foundation
import SkiffModel
import SkiffOCI
import SkiffRegistry
import SkiffStore
import Testing

/// `skiff images load`: what a loaded archive records, and what a rejected one leaves behind
/// (nothing). The messages are what the CLI prints, so they are pinned here.
@Suite struct ImageLoaderTests {
    @Test func loadsAnArchiveUnderItsRefNameAndTheResolverFindsIt() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1")

        let result = try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)
        #expect(result.image.name == "hello:v1")
        #expect(result.image.digest == archive.manifest)
        #expect(result.newBlobs == 3)
        #expect(result.unpackedLayers == 1)

        let resolver = fixture.resolver()
        let digest = try await resolver.digest(for: "hello:v1")
        #expect(digest.description == archive.manifest)
        let image = try await resolver.resolve(digest, as: "hello:v1")
        #expect(image.config.os == "linux")
        #expect(image.layerPaths.count == 1)
        let layerPath = try #require(image.layerPaths.first)
        let greeting = try String(contentsOfFile: layerPath + "/etc/greeting", encoding: .utf8)
        #expect(greeting == "loaded\n")
    }

    @Test func aTagNamesTheImageInsteadOfTheRefName() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: nil)
        let result = try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: "team/app:v2")
        #expect(result.image.name == "team/app:v2")
    }

    @Test func rejectsATagThatIsNotNameColonTag() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1")
        let error = await #expect(throws: ImageError.self) {
            try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: "ghcr.io/team/app:v1")
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "invalid --tag \"ghcr.io/team/app:v1\": expected NAME:TAG, e.g. hello:v1")
    }

    @Test func aRefTheLayoutDoesNotHaveIsNotFoundAndListsWhatItHas() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1")
        let error = await #expect(throws: ImageError.self) {
            try await fixture.loader.load(archiveAt: archive.path, ref: "hello:v9", tag: nil)
        }
        #expect(error?.code == .notFound)
        #expect(error?.message == "no manifest named \"hello:v9\" in the layout; it has: hello:v1")
    }

    @Test func aLayoutMissingALayerIsRejectedAndItsBlobsRemoved() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1", withLayer: false)
        let error = await #expect(throws: ImageError.self) {
            try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)
        }
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message
                == "invalid image layout: manifest \(archive.manifest) needs blob \(archive.layer), which is missing")
        #expect(!fixture.blobs.contains(try Digest(archive.manifest)), "a rejected archive left its blobs")
        #expect(try await fixture.store.image(named: "hello:v1") == nil)
    }

    @Test func aFileThatIsNotAnArchiveIsInvalidAndKeepsItsCause() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let path = fixture.directory + "/not-a-tar"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
        let error = await #expect(throws: ImageError.self) {
            try await fixture.loader.load(archiveAt: path, ref: nil, tag: nil)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("not a valid OCI image archive: ") == true)
        let cause = try #require(error?.cause as? OCIError)
        // The message already quotes the cause, which has nothing beneath it: it is said once.
        #expect(cause.cause == nil)
        #expect(error.map { "\($0)" } == "not a valid OCI image archive: \(cause)")
    }
}
