public import Foundation

/// An image the server holds under a name: `repository:tag` pointing to a manifest.
public struct ImageSummary: Codable, Sendable, Hashable {
    /// `hello:v1` style name.
    public var name: String
    /// The manifest's digest.
    public var digest: String
    /// Sum of the manifest, config and layer sizes in bytes.
    public var size: Int64
    public var createdAt: Date

    public init(name: String, digest: String, size: Int64, createdAt: Date) {
        self.name = name
        self.digest = digest
        self.size = size
        self.createdAt = createdAt
    }
}
