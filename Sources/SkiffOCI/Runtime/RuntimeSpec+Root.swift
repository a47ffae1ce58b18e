extension RuntimeSpec {
    /// The container's root filesystem (runtime-spec config.md, "Root").
    public struct Root: Codable, Sendable, Equatable {
        /// The path to the root filesystem, absolute or relative to the bundle.
        public var path: String
        /// Whether the root filesystem is read-only inside the container.
        public var readonly: Bool?

        public init(path: String, readonly: Bool? = nil) {
            self.path = path
            self.readonly = readonly
        }
    }
}
