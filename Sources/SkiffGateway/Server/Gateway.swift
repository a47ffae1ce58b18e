public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
import NIOHTTP2
public import NIOPosix
public import ServiceLifecycle

/// The data plane: an HTTP reverse proxy that routes `NAME.DOMAIN` to the backends the
/// ``RoutingTable`` lists, as a swift-service-lifecycle `Service`.
///
/// Clients speak HTTP/1.1 (with upgrades such as WebSockets) or HTTP/2 with prior knowledge
/// (h2c) on the same port; each HTTP/2 stream is a request like any other. Instances get
/// HTTP/1.1, or HTTP/2 when their revision's port says h2c.
///
/// Each client connection is served on one event loop, and its backend connections are opened
/// (and pooled) on that same loop: a request never changes threads, takes no lock held across
/// I/O, and touches shared state only through the routing table's generation check and the
/// backends' atomic in-flight counters.
///
/// `run()` listens until the task is cancelled or graceful shutdown begins; then it stops
/// accepting, lets running requests finish (keep-alive connections close after their current
/// response) for up to ``GatewayConfiguration/shutdownGracePeriod``, and closes what is left.
/// Cancellation drains the same way as graceful shutdown; the wait is bounded by the grace
/// period either way.
public final class Gateway: Service, Sendable {
    private enum Listening {
        case waiting([CheckedContinuation<SocketAddress, any Error>])
        case listening(SocketAddress)
        case stopped(GatewayError)
    }

    private struct State {
        var listening = Listening.waiting([])
        var loops: [ObjectIdentifier: NIOLoopBound<LoopContext>] = [:]
        var connections: [ObjectIdentifier: any Channel] = [:]
    }

    private let configuration: GatewayConfiguration
    private let routingTable: RoutingTable
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let observer: GatewayObserver?
    private let connector: UpstreamConnector
    private let state = NIOLockedValueBox(State())

    /// - Parameter observer: called on the event loop after every request; `nil` costs nothing.
    public convenience init(
        configuration: GatewayConfiguration,
        routingTable: RoutingTable,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        observer: GatewayObserver? = nil
    ) {
        self.init(
            configuration: configuration,
            routingTable: routingTable,
            eventLoopGroup: eventLoopGroup,
            logger: logger,
            observer: observer,
            connector: .tcp(connectTimeout: TimeAmount(configuration.connectTimeout))
        )
    }

    init(
        configuration: GatewayConfiguration,
        routingTable: RoutingTable,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        observer: GatewayObserver?,
        connector: UpstreamConnector
    ) {
        var configuration = configuration
        configuration.domain = configuration.domain.lowercased()
        self.configuration = configuration
        self.routingTable = routingTable
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.observer = observer
        self.connector = connector
    }

    /// The address the gateway listens on, once it does; throws if `run()` failed or ended
    /// before listening.
    public func waitUntilListening() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<SocketAddress, GatewayError>? = self.state.withLockedValue { state in
                switch state.listening {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state.listening = .waiting(waiters)
                    return nil
                case .listening(let address):
                    return .success(address)
                case .stopped(let error):
                    return .failure(error)
                }
            }
            if let result {
                continuation.resume(with: result.mapError { $0 as any Error })
            }
        }
    }

    /// Open client connections (for tests and diagnostics).
    public var connectionCount: Int {
        self.state.withLockedValue { $0.connections.count }
    }

    public func run() async throws {
        let configuration = self.configuration
        let bootstrap = ServerBootstrap(group: self.eventLoopGroup)
            .serverChannelOption(.backlog, value: Int32(clamping: configuration.backlog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Each connection keeps its receive buffer between reads; a keep-alive request is a
            // few hundred bytes, and 10,000 idle connections should not hold 2 KiB each. The
            // buffer still grows for bodies that need it.
            .childChannelOption(
                .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.initializeConnection(channel)
                }
            }

        let server: any Channel
        do {
            if let socket = configuration.listeningSocket {
                server = try await bootstrap.withBoundSocket(socket).get()
                // NIO listens again on a socket it adopts, with its default backlog (128),
                // not the bootstrap's: a burst of connections would overflow it and wait
                // for the clients' SYN retransmits (a second). Set ours back.
                _ = listen(socket, Int32(clamping: configuration.backlog))
            } else {
                server = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
            }
        } catch {
            let failure = GatewayError(
                code: .bindFailed,
                message: "cannot listen on \(configuration.host):\(configuration.port): \(error)",
                cause: error
            )
            self.finishListening(.failure(failure))
            throw failure
        }
        guard let address = server.localAddress else {
            server.close(promise: nil)
            let failure = GatewayError(code: .bindFailed, message: "listening socket has no local address")
            self.finishListening(.failure(failure))
            throw failure
        }
        self.finishListening(.success(address))
        self.logger.info("gateway listening", metadata: ["address": "\(address)", "domain": "\(configuration.domain)"])

        await withTaskCancellationOrGracefulShutdownHandler {
            try? await server.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            server.close(promise: nil)
        }

        self.logger.info("gateway stopping: draining connections")
        await self.drainConnections()
        await self.closePools()
        self.state.withLockedValue {
            $0.listening = .stopped(GatewayError(code: .notListening, message: "the gateway has stopped"))
        }
        self.logger.info("gateway stopped")
    }

    // MARK: Connections

    private func initializeConnection(_ channel: any Channel) throws {
        let loopContext = self.loopContext(for: channel.eventLoop)
        let domain = self.configuration.domain
        let observer = self.observer
        let logger = self.logger
        let eventLoop = channel.eventLoop
        try channel.pipeline.syncOperations.addHandler(
            ProtocolDetector { found, pipeline in
                switch found {
                case .http1:
                    try ProxyHandler.configure(
                        pipeline, loop: loopContext, domain: domain, observer: observer, logger: logger)
                case .http2:
                    try HTTP2Server.configure(
                        pipeline, eventLoop: eventLoop, loop: loopContext, domain: domain, observer: observer,
                        logger: logger)
                }
            })
        let id = ObjectIdentifier(channel)
        self.state.withLockedValue { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { _ in
            self.state.withLockedValue { _ = $0.connections.removeValue(forKey: id) }
        }
    }

    /// This loop's pool and routing cache; created on first use, on the loop itself.
    private func loopContext(for eventLoop: any EventLoop) -> LoopContext {
        let key = ObjectIdentifier(eventLoop)
        return self.state.withLockedValue { state in
            if let existing = state.loops[key] {
                return existing.value
            }
            let pool = UpstreamPool(
                eventLoop: eventLoop,
                maxIdlePerBackend: max(0, self.configuration.maxIdleConnectionsPerBackend),
                connector: self.connector
            )
            let context = LoopContext(table: self.routingTable, pool: pool)
            state.loops[key] = NIOLoopBound(context, eventLoop: eventLoop)
            return context
        }
    }

    private func finishListening(_ result: Result<SocketAddress, GatewayError>) {
        let waiters = self.state.withLockedValue { state in
            guard case .waiting(let waiters) = state.listening else {
                return [CheckedContinuation<SocketAddress, any Error>]()
            }
            switch result {
            case .success(let address): state.listening = .listening(address)
            case .failure(let error): state.listening = .stopped(error)
            }
            return waiters
        }
        for waiter in waiters {
            waiter.resume(with: result.mapError { $0 as any Error })
        }
    }

    /// Asks every connection to close after its current response, waits up to the grace
    /// period, then closes the rest.
    private func drainConnections() async {
        let channels = self.state.withLockedValue { Array($0.connections.values) }
        guard !channels.isEmpty else { return }
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        // Futures, not Task.sleep: when run() ends by cancellation the drain must still wait.
        let eventLoop = self.eventLoopGroup.next()
        let allClosed = EventLoopFuture.andAllComplete(channels.map(\.closeFuture), on: eventLoop)
        let deadline = eventLoop.scheduleTask(in: TimeAmount(self.configuration.shutdownGracePeriod)) {}
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await allClosed.get() }
            group.addTask { try? await deadline.futureResult.get() }
            await group.next()
            deadline.cancel()
            let remaining = self.state.withLockedValue { Array($0.connections.values) }
            if !remaining.isEmpty {
                self.logger.warning(
                    "closing connections still busy after the grace period",
                    metadata: ["count": "\(remaining.count)"]
                )
                for channel in remaining { channel.close(promise: nil) }
            }
        }
    }

    private func closePools() async {
        let loops = self.state.withLockedValue { Array($0.loops.values) }
        for loop in loops {
            try? await loop.eventLoop.submit { loop.value.pool.close() }.get()
        }
    }
}
