/// One ready instance of a service that the gateway may send requests to.
///
/// The `id` is the identity the balancer counts in-flight requests under: a backend that is
/// re-announced with the same `id`, `host` and `port` keeps its counters and pooled connections.
public struct Backend: Sendable, Hashable {
    /// Stable identity of the instance (e.g. the instance ID).
    public var id: String
    /// IPv4 literal the instance listens on.
    public var host: String
    /// TCP port the instance listens on.
    public var port: Int

    public init(id: String, host: String, port: Int) {
        self.id = id
        self.host = host
        self.port = port
    }
}
