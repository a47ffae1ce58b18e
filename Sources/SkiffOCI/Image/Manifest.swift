/// An image manifest: one image's config and its ordered layers (OCI image spec, manifest.md).
public struct Manifest: Codable, Sendable, Hashable {
    /// Always 2 for compatibility with Docker's schema.
    public var schemaVersion: Int
    /// `application/vnd.oci.image.manifest.v1+json`, or Docker's schema 2 type.
    public var mediaType: String?
    /// The type of an artifact when the manifest describes one.
    public var artifactType: String?
    /// The image configuration blob.
    public var config: Descriptor
    /// Layers in application order: the first is the base.
    public var layers: [Descriptor]
    /// The manifest this one refers to (referrers API).
    public var subject: Descriptor?
    /// Arbitrary metadata.
    public var annotations: [String: String]?

    public init(config: Descriptor, layers: [Descriptor], mediaType: String = MediaType.imageManifest) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

/// An image index: manifests for several platforms or tags (OCI image spec, image-index.md).
public struct Index: Codable, Sendable, Hashable {
    /// Always 2.
    public var schemaVersion: Int
    /// `application/vnd.oci.image.index.v1+json`, or Docker's manifest list type.
    public var mediaType: String?
    /// The type of an artifact when the index describes one.
    public var artifactType: String?
    /// The manifests, each with an optional platform.
    public var manifests: [Descriptor]
    /// The manifest this one refers to.
    public var subject: Descriptor?
    /// Arbitrary metadata.
    public var annotations: [String: String]?

    public init(manifests: [Descriptor], mediaType: String = MediaType.imageIndex) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
    }
}

extension Descriptor {
    /// The annotation an image layout's index uses to name a manifest.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    /// The `org.opencontainers.image.ref.name` annotation, if any.
    public var refName: String? { annotations?[Descriptor.refNameAnnotation] }
}
