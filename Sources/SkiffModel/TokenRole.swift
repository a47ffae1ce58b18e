/// What a token may do. Stored and sent as its raw value (`admin`, `write`, `read`), the
/// strings the API, the CLI and the database have always used.
public enum TokenRole: String, Codable, Sendable, Hashable, CaseIterable {
    /// The whole control-plane API (`/v1`) and the registry.
    case admin
    /// The registry only (`/v2`): push and pull.
    case write
    /// The registry only (`/v2`): pull.
    case read
}
