import SkiffArchive
import SkiffOCI

/// Makes an image's layers ready to run, as the image's config describes them: unpacked
/// within the server's per-image size limit, and each equal to the diff_id its config lists.
///
/// The OCI image spec makes `rootfs.diff_ids[i]` the digest of layer i uncompressed; the
/// snapshot store hashes that stream while it unpacks, so the check costs no second read.
/// A layer that breaks a limit or its diff_id fails the whole image, with an error naming
/// the image, the layer (1-based, as people count) and the limit or both digests.
struct ImageLayers {
    let snapshots: SnapshotStore

    func prepare(_ manifest: Manifest, config: ImageConfig, image: String) async throws(ImageError)
        -> [SnapshotStore.Prepared]
    {
        let diffIDs = config.rootfs.diff_ids
        guard diffIDs.count == manifest.layers.count else {
            throw ImageError(
                .invalidArgument,
                "image \(image): its config lists \(diffIDs.count) diff_ids for \(manifest.layers.count) layers")
        }
        let limit = snapshots.limits.maxImageBytes
        var used: Int64 = 0
        var prepared: [SnapshotStore.Prepared] = []
        for (index, layer) in manifest.layers.enumerated() {
            let name = "layer \(index + 1) of \(manifest.layers.count) (\(layer.digest))"
            let expected = diffIDs[index]
            guard expected.algorithm == "sha256" else {
                throw ImageError(
                    .invalidArgument,
                    "image \(image): \(name) has the diff_id \(expected); Skiff verifies sha256 diff_ids only")
            }
            let snapshot: SnapshotStore.Prepared
            do {
                snapshot = try await snapshots.prepare(layer, imageBytesRemaining: max(0, limit - used))
            } catch {
                // The store names the layer by digest; say which of the image's layers it is.
                let own = "layer \(layer.digest) "
                let detail =
                    error.message.hasPrefix(own) ? " " + error.message.dropFirst(own.count) : ": " + error.message
                throw ImageError(
                    error.code == .insufficientSpace ? .insufficientStorage : .invalidArgument,
                    "image \(image): \(name)\(detail)", cause: error)
            }
            guard snapshot.record.diffID == expected else {
                throw ImageError(
                    .invalidArgument,
                    "image \(image): \(name) does not match its config: rootfs.diff_ids[\(index)] is \(expected), "
                        + "but the uncompressed layer hashes to \(snapshot.record.diffID)")
            }
            used += snapshot.record.uncompressedSize
            prepared.append(snapshot)
        }
        return prepared
    }
}
