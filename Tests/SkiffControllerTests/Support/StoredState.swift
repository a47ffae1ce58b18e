import Foundation
import SkiffModel
import SkiffOCI
import SkiffRegistry
import SkiffStore
import SkiffTestSupport
import SystemPackage
import Testing

@testable import SkiffController

/// The controller's state on disk, in a temporary directory: a real store, blob store and
/// image resolver, with one image without layers (`image`) to deploy. Tests build controllers
/// on it, and catalog entries as the controller makes them.
struct StoredState {
    let temporary: TemporaryDirectory
    let store: Store
    let resolver: ImageResolver
    let image: String

    init() throws {
        temporary = try TemporaryDirectory()
        store = try Store(path: temporary.path + "/skiff.db")
        let blobs = try BlobStore(root: FilePath(temporary.path + "/blobs"))
        let snapshots = try SnapshotStore(root: FilePath(temporary.path + "/snapshots"), blobs: blobs)
        resolver = ImageResolver(store: store, blobs: blobs, snapshots: snapshots)
        image = try Self.loadEmptyImage(into: blobs)
    }

    /// An image with no layers: runs nowhere, resolves at once.
    private static func loadEmptyImage(into blobs: BlobStore) throws -> String {
        let config = ImageConfig(config: nil, rootfs: ImageConfig.RootFS(diffIDs: []))
        let configBytes = try JSONEncoder().encode(config)
        let configDigest = try blobs.put(Array(configBytes))
        let manifest = Manifest(
            config: Descriptor(
                mediaType: MediaType.imageConfig, digest: configDigest, size: Int64(configBytes.count)),
            layers: [])
        let manifestDigest = try blobs.put(Array(try JSONEncoder().encode(manifest)))
        return "app@\(manifestDigest)"
    }

    func remove() { temporary.remove() }

    /// A spec whose `generation` makes each deploy a new revision.
    func spec(generation: Int = 1, concurrency: Int = 0) -> ServiceSpec {
        var spec = ServiceSpec(image: image, env: [EnvVar(name: "GENERATION", value: "\(generation)")])
        spec.scaling.concurrency = concurrency
        return spec
    }

    /// Deploys `spec` to `name` (with `traffic` when given) and returns the service's entry,
    /// with every revision its traffic names.
    func deploy(
        _ name: ServiceName, _ spec: ServiceSpec, traffic: [TrafficTarget]? = nil
    ) async throws -> ServiceCatalog.Entry {
        let digest = try await resolver.digest(for: image)
        _ = try await store.deploy(service: name, spec: spec, imageDigest: digest.description)
        if let traffic { _ = try await store.setTraffic(traffic, of: name) }
        let (row, revision) = try #require(try await store.service(name))
        let resolved = try await resolver.resolve(digest, as: image)
        var entry = ServiceCatalog.Entry(row: row, revision: revision, image: resolved)
        for other in Set(row.traffic.revisionNames).subtracting([revision.name]) {
            let stored = try #require(try await store.revision(named: other))
            entry.others[other] = ServiceCatalog.Runnable(revision: stored, image: resolved)
        }
        return entry
    }
}
