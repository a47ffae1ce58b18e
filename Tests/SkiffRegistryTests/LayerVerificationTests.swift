import Foundation
import SkiffArchive
import SkiffOCI
import SkiffRegistry
import SkiffStore
import SkiffTestSupport
import SystemPackage
import Testing

/// An image runs only if each layer, uncompressed, hashes to the diff_id its config lists,
/// and its layers fit the per-image size limit; errors name the image, the layer and the
/// digests or the limit.
@Suite struct LayerVerificationTests {
    static let wrongDiffID = "sha256:" + String(repeating: "0", count: 64)

    @Test func anImageWhoseDiffIDMatchesLoadsAndRecordsIt() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1")
        _ = try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)
        let layer = try Digest(archive.layer)
        let recordPath = fixture.snapshots.path(for: layer).string + ".json"
        let record = try JSONDecoder().decode(
            SnapshotRecord.self, from: Data(contentsOf: URL(fileURLWithPath: recordPath)))
        let image = try await fixture.resolver().resolve(try Digest(archive.manifest), as: "hello:v1")
        #expect(image.config.rootfs.diff_ids == [record.diffID])
    }

    @Test func anImageWhoseDiffIDDoesNotMatchIsRefusedNamingLayerAndDigests() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1", diffID: Self.wrongDiffID)
        let error = await #expect(throws: ImageError.self) {
            try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)
        }
        let actual = Self.trueDiffID(greeting: "loaded\n")
        #expect(error?.code == .invalidArgument)
        #expect(
            error?.message
                == "image hello:v1: layer 1 of 1 (\(archive.layer)) does not match its config: "
                + "rootfs.diff_ids[0] is \(Self.wrongDiffID), but the uncompressed layer hashes to \(actual)")
        #expect(try await fixture.store.image(named: "hello:v1") == nil)
        #expect(!fixture.blobs.contains(try Digest(archive.manifest)), "the refused image's blobs stayed")
    }

    @Test func aLayerUnpackedForAnotherImageIsStillCheckedAgainstThisOnesDiffID() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let good = try fixture.archive(refName: "good:v1")
        _ = try await fixture.loader.load(archiveAt: good.path, ref: nil, tag: nil)
        let bad = try fixture.archive(refName: "bad:v1", diffID: Self.wrongDiffID)
        #expect(bad.layer == good.layer)
        let error = await #expect(throws: ImageError.self) {
            try await fixture.loader.load(archiveAt: bad.path, ref: nil, tag: nil)
        }
        #expect(error?.message.contains("rootfs.diff_ids[0] is \(Self.wrongDiffID)") == true)
    }

    @Test func aSnapshotWithoutARecordIsMeasuredFromItsBlob() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "hello:v1")
        _ = try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)
        let layer = try Digest(archive.layer)
        let recordPath = fixture.snapshots.path(for: layer).string + ".json"
        try FileManager.default.removeItem(atPath: recordPath)

        // A new store, as after a restart onto a data directory from before records existed.
        let snapshots = try SnapshotStore(root: fixture.snapshots.root, blobs: fixture.blobs)
        let resolver = ImageResolver(store: fixture.store, blobs: fixture.blobs, snapshots: snapshots)
        let image = try await resolver.resolve(try Digest(archive.manifest), as: "hello:v1")
        #expect(image.layerPaths == [fixture.snapshots.path(for: layer).string])
        #expect(FileManager.default.fileExists(atPath: recordPath))
    }

    @Test func anImageOverThePerImageLimitIsRefusedNamingTheLimitAndLeavesNoSnapshot() async throws {
        let fixture = try ImageFixture(limits: UnpackLimits(maxImageBytes: 4096))
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "big:v1", greeting: String(repeating: "x", count: 10_000))
        let error = await #expect(throws: ImageError.self) {
            try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)
        }
        #expect(error?.code == .invalidArgument)
        let message = error?.message ?? ""
        #expect(message.hasPrefix("image big:v1: layer 1 of 1 (\(archive.layer)) rejected: "), "\(message)")
        #expect(message.contains("per-image size limit of 4 KiB (4096 bytes)"), "\(message)")
        #expect(!fixture.snapshots.contains(try Digest(archive.layer)))
    }

    @Test func aLayerUnpackedEarlierCountsTowardsTheImageLimit() async throws {
        let fixture = try ImageFixture()
        defer { fixture.remove() }
        let archive = try fixture.archive(refName: "big:v1", greeting: String(repeating: "x", count: 10_000))
        _ = try await fixture.loader.load(archiveAt: archive.path, ref: nil, tag: nil)

        let strict = try SnapshotStore(
            root: fixture.snapshots.root, blobs: fixture.blobs,
            unpacker: LayerUnpacker(limits: UnpackLimits(maxImageBytes: 4096)))
        let resolver = ImageResolver(store: fixture.store, blobs: fixture.blobs, snapshots: strict)
        let error = await #expect(throws: ImageError.self) {
            try await resolver.resolve(try Digest(archive.manifest), as: "big:v1")
        }
        #expect(error?.message.contains("image big:v1: layer 1 of 1") == true, "\(String(describing: error))")
        #expect(error?.message.contains("per-image size limit of 4096 bytes") == true)
    }

    /// The diff_id of the fixture's layer with this greeting: the SHA-256 of its tar.
    static func trueDiffID(greeting: String) -> String {
        var layer = TarBuilder()
        layer.file("etc/greeting", contents: greeting)
        return RegistryProtocolTests.digest(layer.finish())
    }
}
