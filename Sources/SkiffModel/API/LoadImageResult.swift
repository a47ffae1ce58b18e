/// What `POST /v1/images/load` reports: the name it stored and what was new.
public struct LoadImageResult: Codable, Sendable, Hashable {
    public var image: ImageSummary
    /// Blobs that were not in the store before.
    public var newBlobs: Int
    /// Layers unpacked into snapshots by this load.
    public var unpackedLayers: Int

    public init(image: ImageSummary, newBlobs: Int, unpackedLayers: Int) {
        self.image = image
        self.newBlobs = newBlobs
        self.unpackedLayers = unpackedLayers
    }
}
