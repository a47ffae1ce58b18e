import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SkiffOCI
import SkiffRegistry
import SkiffStore
import SkiffTestSupport
import SystemPackage
import Testing

/// A pushed image's layers are unpacked in the background, so a deploy finds them ready.
@Suite struct PushUnpackTests {
    @Test func pushedLayersAreUnpackedWithoutADeploy() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.path
        let store = try Store(path: directory + "/skiff.db")
        let blobs = try BlobStore(root: FilePath(directory + "/blobs"))
        let snapshots = try SnapshotStore(root: FilePath(directory + "/snapshots"), blobs: blobs)
        let prefetcher = LayerPrefetcher(snapshots: snapshots, logger: Logger(label: "test"))
        let registry = Registry(store: store, blobs: blobs, prefetcher: prefetcher) { _ in RegistryGrant(access: .write)
        }
        let router = Router()
        registry.register(on: router)

        var tar = TarBuilder()
        tar.file("etc/greeting", contents: "pushed\n")
        let layer = try TarBuilder.gzip(tar.finish())
        let layerDigest = try Digest(RegistryProtocolTests.digest(layer))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await prefetcher.run() }
            try await Application(router: router).test(.router) { client in
                _ = try await RegistryProtocolTests.pushImage("v1", layer: layer, client)
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while !snapshots.contains(layerDigest), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(snapshots.contains(layerDigest), "the pushed layer was not unpacked")
            let greeting = try String(
                contentsOfFile: snapshots.path(for: layerDigest).string + "/etc/greeting", encoding: .utf8)
            #expect(greeting == "pushed\n")
            group.cancelAll()
        }
    }
}
