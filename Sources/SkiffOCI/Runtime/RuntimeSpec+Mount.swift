extension RuntimeSpec {
    /// A mount in the container (runtime-spec config.md, "Mounts").
    public struct Mount: Codable, Sendable, Equatable {
        /// The destination path inside the container.
        public var destination: String
        /// The filesystem type, e.g. `proc`, `tmpfs`, `bind`.
        public var type: String?
        /// A device name, a directory for bind mounts, or a dummy name.
        public var source: String?
        /// Mount options in the form `mount(8)` takes them.
        public var options: [String]?

        public init(destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil) {
            self.destination = destination
            self.type = type
            self.source = source
            self.options = options
        }
    }
}
