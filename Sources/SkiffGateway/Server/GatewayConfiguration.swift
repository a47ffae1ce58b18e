/// Settings of the data-plane listener.
public struct GatewayConfiguration: Sendable {
    /// Address to bind, e.g. `0.0.0.0` or `127.0.0.1`.
    public var host: String
    /// Port to bind; 0 picks a free one (see ``Gateway/waitUntilListening()``).
    public var port: Int
    /// Services are reached at `NAME.DOMAIN` and `TAG---NAME.DOMAIN`.
    public var domain: String
    /// How long to wait for a backend to accept a connection before answering 502.
    public var connectTimeout: Duration
    /// Idle keep-alive connections kept per backend on each event loop.
    public var maxIdleConnectionsPerBackend: Int
    /// How long graceful shutdown waits for running requests before closing connections.
    public var shutdownGracePeriod: Duration
    /// Listen backlog.
    public var backlog: Int
    /// A socket already bound and listening, to accept on instead of binding `host:port`:
    /// one taken over from the server this one replaces. The gateway owns it from then on.
    public var listeningSocket: Int32?

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        domain: String = "localhost",
        connectTimeout: Duration = .seconds(5),
        maxIdleConnectionsPerBackend: Int = 64,
        shutdownGracePeriod: Duration = .seconds(30),
        backlog: Int = 1024
    ) {
        self.host = host
        self.port = port
        self.domain = domain
        self.connectTimeout = connectTimeout
        self.maxIdleConnectionsPerBackend = maxIdleConnectionsPerBackend
        self.shutdownGracePeriod = shutdownGracePeriod
        self.backlog = backlog
    }
}
