import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a service only once the server this process replaces has exited: the controller
/// must not adopt instances the old one still supervises, nor the API bind the port the old
/// one still holds. Without a predecessor it runs the service at once.
struct AfterPredecessor: Service {
    let service: any Service
    let predecessor: Predecessor?
    let logger: Logger

    /// How long the old server may take to finish its requests and leave.
    static let patience: Duration = .seconds(90)

    func run() async throws {
        if let predecessor, await !predecessor.waitForExit(timeout: Self.patience) {
            logger.error(
                "skiff server \(predecessor.pid) did not stop within \(Self.patience) of SIGTERM; killing it")
            kill(predecessor.pid, SIGKILL)
            _ = await predecessor.waitForExit(timeout: .seconds(10))
        }
        try await service.run()
    }
}
