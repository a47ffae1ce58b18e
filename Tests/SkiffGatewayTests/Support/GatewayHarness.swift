import Logging
import NIOCore
import NIOPosix

@testable import SkiffGateway

struct GatewayFixture: Sendable {
    let gateway: Gateway
    let port: Int
    let table: RoutingTable

    func host(_ name: String) -> String { "\(name).localhost:\(self.port)" }
}

let quietLogger = Logger(label: "skiff.gateway.test") { _ in SwiftLogNoOpLogHandler() }

/// Runs a gateway on 127.0.0.1 (free port) with its own event loop group for the duration of
/// `body`, then cancels it and waits for `run()` to return.
func withGateway<T: Sendable>(
    table: RoutingTable = RoutingTable(),
    threads: Int = 1,
    configure: (inout GatewayConfiguration) -> Void = { _ in },
    observer: GatewayObserver? = nil,
    _ body: (GatewayFixture) async throws -> T
) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    var configuration = GatewayConfiguration(host: "127.0.0.1", port: 0, domain: "localhost")
    configure(&configuration)
    let gateway = Gateway(
        configuration: configuration,
        routingTable: table,
        eventLoopGroup: group,
        logger: quietLogger,
        observer: observer
    )
    let result: Result<T, any Error>
    do {
        result = try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await gateway.run() }
            let address = try await gateway.waitUntilListening()
            let fixture = GatewayFixture(gateway: gateway, port: address.port ?? 0, table: table)
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try await body(fixture))
            } catch {
                outcome = .failure(error)
            }
            tasks.cancelAll()
            try await tasks.waitForAll()
            return outcome
        }
    } catch {
        result = .failure(error)
    }
    try await group.shutdownGracefully()
    return try result.get()
}

/// A loopback port nothing listens on (bound, then closed).
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}
