import Foundation
public import SkiffModel
public import SkiffOCI
public import SkiffStore
import SystemPackage

/// `skiff images load`: takes an OCI image layout sent as a tar (an oci-archive), stores its
/// blobs, unpacks its layers and names the chosen manifest.
///
/// A rejected archive changes nothing: blobs it added are removed again and no name is recorded.
public struct ImageLoader: Sendable {
    let store: Store
    let blobs: BlobStore
    let snapshots: SnapshotStore

    public init(store: Store, blobs: BlobStore, snapshots: SnapshotStore) {
        self.store = store
        self.blobs = blobs
        self.snapshots = snapshots
    }

    public func load(archiveAt path: String, ref: String?, tag: String?) async throws(ImageError) -> LoadImageResult {
        var name: String?
        if let tag { name = try Self.localName(tag, what: "--tag") }
        let imported: ImportedLayout
        do {
            imported = try await OCIArchive.importBlobs(from: FilePath(path), into: blobs)
        } catch {
            throw ImageError(.invalidArgument, "not a valid OCI image archive: \(error.message)", cause: error)
        }
        do throws(ImageError) {
            let (descriptor, manifest) = try select(ref: ref, in: imported.index)
            let finalName: String
            if let name { finalName = name } else { finalName = try Self.nameFromRef(descriptor.refName) }
            var size = descriptor.size + manifest.config.size
            for blob in [manifest.config] + manifest.layers {
                guard blobs.contains(blob.digest) else {
                    throw ImageError(
                        .invalidArgument,
                        "invalid image layout: manifest \(descriptor.digest) needs blob \(blob.digest), which is missing"
                    )
                }
            }
            size += manifest.layers.reduce(0) { $0 + $1.size }
            let config = try decode(
                ImageConfig.self, try read(manifest.config.digest), what: "config \(manifest.config.digest)")
            let layers = try await ImageLayers(snapshots: snapshots).prepare(manifest, config: config, image: finalName)
            let unpacked = layers.count { $0.unpacked }
            let summary = ImageSummary(
                name: finalName, digest: descriptor.digest.description, size: size, createdAt: Date())
            do {
                try await store.putImage(summary)
            } catch {
                throw ImageError(.internalError, "cannot record image \(finalName)", cause: error)
            }
            return LoadImageResult(image: summary, newBlobs: imported.newBlobs.count, unpackedLayers: unpacked)
        } catch {
            for digest in imported.newBlobs { blobs.remove(digest) }
            throw error
        }
    }

    /// Picks the manifest named `ref`, or the only one; nested indexes resolve to linux/amd64.
    private func select(ref: String?, in index: Index) throws(ImageError) -> (Descriptor, Manifest) {
        let candidates: [Descriptor]
        let names = index.manifests.compactMap(\.refName)
        if let ref {
            candidates = index.manifests.filter { $0.refName == ref }
            guard !candidates.isEmpty else {
                throw ImageError(
                    .notFound,
                    "no manifest named \"\(ref)\" in the layout; it has: \(names.isEmpty ? "no named manifests" : names.joined(separator: ", "))"
                )
            }
        } else {
            candidates = index.manifests
            guard candidates.count == 1 else {
                throw ImageError(
                    .invalidArgument,
                    candidates.isEmpty
                        ? "the layout's index.json lists no manifests"
                        : "the layout holds \(candidates.count) manifests; choose one with DIR:REF: \(names.joined(separator: ", "))"
                )
            }
        }
        var descriptor = candidates[0]
        var manifestBytes = try read(descriptor.digest)
        if MediaType.isIndex(descriptor.mediaType) {
            let nested = try decode(Index.self, manifestBytes, what: "index \(descriptor.digest)")
            guard
                let chosen = nested.manifests.first(where: {
                    $0.platform?.os == "linux" && $0.platform?.architecture == Self.architecture
                })
            else {
                throw ImageError(
                    .invalidArgument, "index \(descriptor.digest) has no linux/\(Self.architecture) manifest")
            }
            var named = chosen
            named.annotations = descriptor.annotations
            descriptor = named
            manifestBytes = try read(chosen.digest)
        }
        guard MediaType.isManifest(descriptor.mediaType) else {
            throw ImageError(
                .invalidArgument, "\(descriptor.digest) has media type \(descriptor.mediaType), not an image manifest")
        }
        return (descriptor, try decode(Manifest.self, manifestBytes, what: "manifest \(descriptor.digest)"))
    }

    private func read(_ digest: Digest) throws(ImageError) -> [UInt8] {
        do {
            return try blobs.read(digest)
        } catch {
            throw ImageError(.invalidArgument, "invalid image layout: \(error.message)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws(ImageError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw ImageError(.invalidArgument, "invalid \(what): \(error)")
        }
    }

    static var architecture: String {
        #if arch(arm64)
            "arm64"
        #else
            "amd64"
        #endif
    }

    /// `NAME:TAG` as images are named locally: a repository path and a tag, no registry, no digest.
    static func localName(_ text: String, what: String) throws(ImageError) -> String {
        let reference: Reference
        do {
            reference = try Reference(text)
        } catch {
            throw ImageError(.invalidArgument, "invalid \(what): \(error.message)")
        }
        guard reference.host == nil, reference.digest == nil, let name = reference.localName else {
            throw ImageError(.invalidArgument, "invalid \(what) \"\(text)\": expected NAME:TAG, e.g. hello:v1")
        }
        return name
    }

    static func nameFromRef(_ refName: String?) throws(ImageError) -> String {
        guard let refName, refName.contains(":") else {
            throw ImageError(
                .invalidArgument,
                "the manifest's ref name \(refName.map { "\"\($0)\"" } ?? "is missing and") is not NAME:TAG: name the image with --tag NAME:TAG"
            )
        }
        return try localName(refName, what: "ref name")
    }
}
