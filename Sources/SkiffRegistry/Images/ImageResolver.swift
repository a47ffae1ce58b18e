import Foundation
import SkiffModel
public import SkiffOCI
public import SkiffStore
import SystemPackage

/// An image reference resolved to the exact content a revision runs.
public struct ResolvedImage: Sendable, Hashable {
    public var manifestDigest: SkiffOCI.Digest
    public var manifest: Manifest
    public var config: ImageConfig
    /// Snapshot directories of the layers, base first.
    public var layerPaths: [String]
}

/// Turns what a user wrote in `--image` into a manifest digest, its config and unpacked layers.
public struct ImageResolver: Sendable {
    let store: Store
    let blobs: BlobStore
    let snapshots: SnapshotStore
    /// `host:port` names under which clients reach this server's own registry: references
    /// to them resolve from the local store, without a network hop.
    let localRegistryHosts: Set<String>
    /// Fetches an image from another registry into the store and returns its manifest
    /// digest; nil when this server does not pull through.
    let pullThrough: (@Sendable (Reference) async throws(OCIError) -> SkiffOCI.Digest)?

    public init(
        store: Store, blobs: BlobStore, snapshots: SnapshotStore, localRegistryHosts: Set<String> = [],
        pullThrough: (@Sendable (Reference) async throws(OCIError) -> SkiffOCI.Digest)? = nil
    ) {
        self.store = store
        self.blobs = blobs
        self.snapshots = snapshots
        self.localRegistryHosts = Set(localRegistryHosts.map { $0.lowercased() })
        self.pullThrough = pullThrough
    }

    /// Resolves a reference to a digest (a tag is looked up now; the revision keeps the digest).
    public func digest(for text: String) async throws(ImageError) -> SkiffOCI.Digest {
        let reference: Reference
        do {
            reference = try Reference(text)
        } catch {
            throw ImageError(.invalidArgument, error.message)
        }
        let isLocal = reference.host.map { localRegistryHosts.contains($0.lowercased()) } ?? true
        if !isLocal {
            guard let pullThrough else {
                throw ImageError(
                    .invalidArgument,
                    "image \(text) names registry \(reference.host ?? ""), and this server does not pull from registries; push or load it"
                )
            }
            do {
                return try await pullThrough(reference)
            } catch {
                let code: ImageError.Code = error.code == .manifestNotFound ? .notFound : .invalidArgument
                throw ImageError(code, "cannot pull \(text): \(error.message)", cause: error)
            }
        }
        if let digest = reference.digest {
            guard blobs.contains(digest) else {
                throw ImageError(.notFound, "image \(text) not found: no manifest \(digest) is loaded")
            }
            return digest
        }
        guard let name = reference.localName else {
            throw ImageError(.invalidArgument, "invalid image reference \"\(text)\"")
        }
        let image: ImageSummary?
        do {
            image = try await store.image(named: name)
        } catch {
            throw ImageError(.internalError, "cannot look up image \(name)", cause: error)
        }
        guard let image, let digest = try? Digest(image.digest) else {
            throw ImageError(.notFound, "image \(name) not found: load it with `skiff images load DIR --tag \(name)`")
        }
        return digest
    }

    /// Reads the manifest and config of `digest` and makes sure every layer is unpacked,
    /// within the server's limits and equal to its diff_id (see ``ImageLayers``).
    public func resolve(_ digest: SkiffOCI.Digest, as text: String) async throws(ImageError) -> ResolvedImage {
        let manifest: Manifest
        let config: ImageConfig
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(blobs.read(digest)))
            guard manifest.mediaType == nil || MediaType.isManifest(manifest.mediaType) else {
                throw ImageError(
                    .invalidArgument, "image \(text) is a \(manifest.mediaType ?? "?"), not an image manifest")
            }
            config = try JSONDecoder().decode(ImageConfig.self, from: Data(blobs.read(manifest.config.digest)))
            guard config.os == "linux" else {
                throw ImageError(.invalidArgument, "image \(text) is built for \(config.os), not linux")
            }
        } catch let error as ImageError {
            throw error
        } catch let error as OCIError {
            throw ImageError(.invalidArgument, "image \(text): \(error)", cause: error)
        } catch {
            throw ImageError(.invalidArgument, "image \(text) has an unreadable manifest or config: \(error)")
        }
        let layers = try await ImageLayers(snapshots: snapshots).prepare(manifest, config: config, image: text)
        return ResolvedImage(
            manifestDigest: digest, manifest: manifest, config: config, layerPaths: layers.map(\.path.string))
    }
}
