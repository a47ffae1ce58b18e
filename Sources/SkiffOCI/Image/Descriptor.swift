/// A reference to content: what it is, its digest and its size (OCI image spec, descriptor.md).
public struct Descriptor: Codable, Sendable, Hashable {
    /// The media type of the referenced content.
    public var mediaType: String
    /// The digest of the targeted content.
    public var digest: Digest
    /// The size in bytes of the raw content; a client must verify it before consuming.
    public var size: Int64
    /// Alternative locations the object may be downloaded from.
    public var urls: [String]?
    /// Arbitrary metadata; `org.opencontainers.image.ref.name` names a manifest in a layout's index.
    public var annotations: [String: String]?
    /// The platform an image manifest in an index runs on.
    public var platform: Platform?
    /// The type of an artifact when the descriptor points to one.
    public var artifactType: String?

    public init(
        mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil,
        platform: Platform? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}

/// The platform an image is built for (OCI image index spec).
public struct Platform: Codable, Sendable, Hashable {
    /// CPU architecture in GOARCH terms, e.g. `amd64`, `arm64`.
    public var architecture: String
    /// Operating system in GOOS terms, e.g. `linux`.
    public var os: String
    /// OS version, e.g. for Windows images.
    public var osVersion: String?
    /// Required OS features.
    public var osFeatures: [String]?
    /// CPU variant, e.g. `v8` for arm64.
    public var variant: String?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }
}
