import Foundation
import SkiffArchive
import SkiffOCI
import SkiffRegistry
import SkiffStore
import SkiffTestSupport
import SystemPackage

/// A store, blob store and snapshot store in a temporary directory, with the image loader and
/// resolver over them; `remove()` deletes the directory.
struct ImageFixture {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }
    let store: Store
    let blobs: BlobStore
    let snapshots: SnapshotStore

    init(limits: UnpackLimits = UnpackLimits()) throws {
        temporary = try TemporaryDirectory()
        store = try Store(path: temporary.path + "/skiff.db")
        blobs = try BlobStore(root: FilePath(temporary.path + "/blobs"))
        snapshots = try SnapshotStore(
            root: FilePath(temporary.path + "/snapshots"), blobs: blobs, unpacker: LayerUnpacker(limits: limits))
    }

    var loader: ImageLoader { ImageLoader(store: store, blobs: blobs, snapshots: snapshots) }

    func resolver(
        pullThrough: (@Sendable (Reference) async throws(OCIError) -> Digest)? = nil
    ) -> ImageResolver {
        ImageResolver(
            store: store, blobs: blobs, snapshots: snapshots, localRegistryHosts: ["registry.local:5000"],
            pullThrough: pullThrough)
    }

    func remove() { temporary.remove() }

    /// Writes an oci-archive whose index names one manifest `refName`, over a config and one
    /// layer holding `etc/greeting`; `withLayer: false` leaves the layer's blob out. The
    /// config lists the layer's true diff_id unless `diffID` gives another.
    func archive(refName: String?, withLayer: Bool = true, diffID: String? = nil, greeting: String = "loaded\n")
        throws -> (path: String, manifest: String, layer: String)
    {
        var layerTar = TarBuilder()
        layerTar.file("etc/greeting", contents: greeting)
        let uncompressed = layerTar.finish()
        let layer = try TarBuilder.gzip(uncompressed)
        let listed = diffID ?? RegistryProtocolTests.digest(uncompressed)
        let config = Array(
            #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(listed)"]}}"#.utf8)
        let manifest = RegistryProtocolTests.manifest(
            config: RegistryProtocolTests.digest(config), configSize: config.count,
            layer: RegistryProtocolTests.digest(layer), layerSize: layer.count)
        let manifestDigest = RegistryProtocolTests.digest(manifest)
        var descriptor: [String: Any] = [
            "mediaType": MediaType.imageManifest, "digest": manifestDigest, "size": manifest.count,
        ]
        if let refName { descriptor["annotations"] = ["org.opencontainers.image.ref.name": refName] }
        let index = try JSONSerialization.data(withJSONObject: ["schemaVersion": 2, "manifests": [descriptor]])

        var tar = TarBuilder()
        tar.file("oci-layout", contents: #"{"imageLayoutVersion":"1.0.0"}"#)
        tar.file("index.json", contents: index)
        for blob in [config, manifest] + (withLayer ? [layer] : []) {
            let hex = RegistryProtocolTests.digest(blob).dropFirst("sha256:".count)
            tar.file("blobs/sha256/\(hex)", contents: blob)
        }
        let path = directory + "/image-\(UUID().uuidString).tar"
        try Data(tar.finish()).write(to: URL(fileURLWithPath: path))
        return (path, manifestDigest, RegistryProtocolTests.digest(layer))
    }
}
