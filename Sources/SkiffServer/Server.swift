/// The composition root: builds every component from a configuration and runs them
/// together until SIGTERM or SIGINT.
public struct Server: Sendable {
    public let configuration: ServerConfiguration

    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
    }

    /// Runs until the process is asked to stop, then shuts down gracefully.
    public func run() async throws {
    }
}
