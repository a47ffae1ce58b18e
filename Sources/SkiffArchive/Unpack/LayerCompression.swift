/// How a layer blob is compressed.
public enum LayerCompression: Sendable, Hashable {
    /// A plain tar (`application/vnd.oci.image.layer.v1.tar`).
    case none
    /// gzip (`…tar+gzip`, Docker's `…rootfs.diff.tar.gzip`).
    case gzip
    /// Decide by the gzip magic bytes `1f 8b`; anything else is read as a plain tar.
    /// For blobs whose media type is unknown or untrusted.
    case detect
}
