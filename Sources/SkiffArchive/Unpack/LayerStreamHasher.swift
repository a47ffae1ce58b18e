/// Sees every uncompressed byte of a layer, once and in order, as the unpacker reads it.
///
/// The SHA-256 of that stream is the layer's diff_id (OCI image spec, config.md), which an
/// image's config lists for each layer. Hashing while unpacking costs no second read of
/// the layer. SkiffArchive has no cryptography of its own: the caller brings the hash
/// (SkiffOCI's ``SnapshotStore`` uses swift-crypto's SHA-256).
public protocol LayerStreamHasher: AnyObject {
    /// Adds the next bytes of the uncompressed stream; the pointer is valid only during the call.
    func update(_ bytes: UnsafeRawBufferPointer)
}
