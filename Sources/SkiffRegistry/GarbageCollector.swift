public import Foundation
public import SkiffModel
public import SkiffOCI
public import SkiffStore
import SystemPackage

/// Frees blobs nothing refers to: not a manifest any repository holds, not a tag, not the
/// image of any revision, nor a config, layer or child of one of those.
///
/// Blobs written in the last hour are kept too: a push uploads its blobs before the manifest
/// that refers to them, and collecting in between would break it.
public struct GarbageCollector: Sendable {
    public static let gracePeriod: TimeInterval = 3600

    let store: Store
    let blobs: BlobStore

    public init(store: Store, blobs: BlobStore) {
        self.store = store
        self.blobs = blobs
    }

    /// Every blob still needed.
    func liveBlobs() async throws(StoreError) -> Set<Digest> {
        var roots = try await store.referencedManifestDigests()
        roots.formUnion(try await store.revisionImageDigests())
        var live: Set<Digest> = []
        var pending = roots.compactMap { try? Digest($0) }
        while let digest = pending.popLast() {
            guard live.insert(digest).inserted, let bytes = try? blobs.read(digest, limit: Registry.manifestLimit),
                let parsed = try? ParsedManifest(bytes: bytes, contentType: nil)
            else { continue }
            for blob in parsed.blobs { live.insert(blob.digest) }
            pending.append(contentsOf: parsed.children.map(\.digest))
            if let subject = parsed.subject { pending.append(subject.digest) }
        }
        return live
    }

    /// Removes (or with `dryRun` only lists) the unreferenced blobs.
    public func collect(dryRun: Bool, now: Date = Date()) async throws(StoreError) -> GarbageCollectionResult {
        let live = try await liveBlobs()
        let directory = blobs.root.appending("sha256").string
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var result = GarbageCollectionResult(dryRun: dryRun)
        for name in names.sorted() {
            guard let digest = try? Digest("sha256:" + name) else { continue }
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            let modified = attributes?[.modificationDate] as? Date ?? now
            if live.contains(digest) || now.timeIntervalSince(modified) < Self.gracePeriod {
                result.kept += 1
                continue
            }
            result.freedBytes += (attributes?[.size] as? NSNumber)?.int64Value ?? 0
            result.removed.append(digest.description)
            if !dryRun { blobs.remove(digest) }
        }
        return result
    }
}
