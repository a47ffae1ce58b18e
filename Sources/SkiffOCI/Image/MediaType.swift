/// Media types of the OCI image spec, with the Docker v2 schema 2 equivalents registries
/// still serve.
public enum MediaType {
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let imageConfig = "application/vnd.oci.image.config.v1+json"
    public static let layerTar = "application/vnd.oci.image.layer.v1.tar"
    public static let layerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let layerNondistributableTar = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    public static let layerNondistributableTarGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let emptyJSON = "application/vnd.oci.empty.v1+json"

    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerTarGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayerTarGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// Media types that name an index (a list of manifests).
    public static func isIndex(_ type: String?) -> Bool {
        type == imageIndex || type == dockerManifestList
    }

    /// Media types that name a single-image manifest.
    public static func isManifest(_ type: String?) -> Bool {
        type == imageManifest || type == dockerManifest
    }

    /// How a layer of this media type is compressed, or nil when Skiff cannot unpack it.
    public static func layerCompression(_ type: String) -> LayerCompressionKind? {
        switch type {
        case layerTar, layerNondistributableTar: LayerCompressionKind.none
        case layerTarGzip, layerNondistributableTarGzip, dockerLayerTarGzip, dockerForeignLayerTarGzip: .gzip
        default: nil
        }
    }
}

/// The compression of a layer blob as its media type declares it.
public enum LayerCompressionKind: Sendable, Hashable {
    case none
    case gzip
}
