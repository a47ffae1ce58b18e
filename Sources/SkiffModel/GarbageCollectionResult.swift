/// What `skiff images gc` freed, or with `--dry-run` would free.
public struct GarbageCollectionResult: Codable, Sendable, Hashable {
    /// Digests of the blobs removed.
    public var removed: [String]
    public var freedBytes: Int64
    /// Blobs kept: referenced, or written within the grace period.
    public var kept: Int
    public var dryRun: Bool

    public init(removed: [String] = [], freedBytes: Int64 = 0, kept: Int = 0, dryRun: Bool) {
        self.removed = removed
        self.freedBytes = freedBytes
        self.kept = kept
        self.dryRun = dryRun
    }
}
