import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SkiffAPI
import SkiffArchive
import SkiffController
import SkiffGateway
import SkiffOCI
import SkiffRegistry
import SkiffRuntime
import SkiffStore
import SystemPackage
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The composition root: builds every component from a configuration and runs them
/// together until SIGTERM or SIGINT.
public struct Server: Sendable {
    public static let version = "0.1.0"

    public let configuration: ServerConfiguration

    public init(configuration: ServerConfiguration) {
        self.configuration = configuration
    }

    /// Runs until the process is asked to stop, then shuts down gracefully: the API stops
    /// accepting, the gateway finishes its requests, then the instances are left running
    /// for the next start (SIGTERM, when ``ServerConfiguration/keepInstancesOnShutdown``) or
    /// drain and stop (SIGINT, or SIGTERM without it).
    public func run() async throws {
        let config = configuration
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "skiff")
        let layout = try DataDirectory(root: config.dataDir)

        let store = try Store(path: layout.database)
        let blobs = try BlobStore(root: FilePath(layout.blobs))
        blobs.removeAbandonedWrites()
        let snapshots = try SnapshotStore(
            root: FilePath(layout.snapshots), blobs: blobs, unpacker: LayerUnpacker(limits: config.unpackLimits))
        if let token = try await AdminToken.bootstrap(store: store, tokenFile: layout.adminToken) {
            logger.notice("created the admin token in \(layout.adminToken)")
            if config.writeClientConfig {
                do {
                    let path = try ClientConfigFile.write(
                        server: "http://\(config.apiHost):\(config.apiPort)", token: token)
                    logger.notice("wrote the CLI configuration to \(path)")
                } catch {
                    logger.warning("cannot write the CLI configuration: \(error)")
                }
            }
        }

        let runtime = try RuncRuntime(
            configuration: RuntimeConfiguration(
                runtimeBinary: config.runtimeBinary, instancesDir: layout.instances, logsDir: layout.logs,
                network: NetworkConfiguration(
                    bridgeName: config.bridgeName, subnet: config.subnet, cniStateDir: layout.cni),
                logPolicy: LogPolicy(maxBytes: config.instanceLogMaxBytes, retention: config.instanceLogRetention)),
            logger: logger)

        // The gateway's activator reports revisions that have requests waiting for capacity;
        // the controller wakes them without waiting for its next scaling tick.
        let (demands, demandsContinuation) = AsyncStream.makeStream(
            of: String.self, bufferingPolicy: .bufferingNewest(256))
        let routing = RoutingTable(
            onDemand: { revision in demandsContinuation.yield(revision) },
            thaw: { instanceID in runtime.thawNow(instanceID: instanceID) })
        let gatewayLoops: any EventLoopGroup =
            config.gatewayThreads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) }
            ?? MultiThreadedEventLoopGroup.singleton
        let metrics = PlatformMetrics()
        // A server still running on this data directory hands its listening socket over and
        // is asked to leave once this one accepts on it (see ListenerHandover).
        let handover = ListenerHandover(path: layout.gatewayListener)
        let predecessor = try handover.takeOver(host: config.httpHost, port: config.httpPort)
        var gatewayConfiguration = GatewayConfiguration(
            host: config.httpHost, port: config.httpPort, domain: config.domain)
        let listening =
            try predecessor?.socket
            ?? ListeningSocket.open(
                host: config.httpHost, port: config.httpPort, backlog: Int32(clamping: gatewayConfiguration.backlog))
        gatewayConfiguration.listeningSocket = listening
        try handover.publish(descriptor: listening, host: config.httpHost, port: config.httpPort)
        defer { handover.withdraw() }
        let gateway = Gateway(
            configuration: gatewayConfiguration,
            routingTable: routing, eventLoopGroup: gatewayLoops, logger: logger,
            observer: { record in metrics.record(record) })

        let upstreamHTTP = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let puller = UpstreamPuller(
            store: store, blobs: blobs, http: upstreamHTTP,
            credentials: { host in try? await store.registryCredential(host: host) }, logger: logger)

        var controllerConfiguration = Controller.Configuration()
        controllerConfiguration.domain = config.domain
        controllerConfiguration.gatewayPort = config.httpPort
        controllerConfiguration.keepInstancesOnShutdown = config.keepInstancesOnShutdown
        let controller = Controller(
            configuration: controllerConfiguration, store: store,
            resolver: ImageResolver(
                store: store, blobs: blobs, snapshots: snapshots, localRegistryHosts: Self.registryHosts(config),
                pullThrough: { reference throws(OCIError) in try await puller.pull(reference) }),
            runtime: runtime,
            routing: routing, demands: demands, logger: logger)

        let prefetcher = LayerPrefetcher(snapshots: snapshots, logger: logger)
        let registry = Registry(store: store, blobs: blobs, prefetcher: prefetcher, maxBlobSize: config.maxLayerSize) {
            token in
            await RegistryGrant.granted(to: token, by: store)
        }
        let api = ControlPlaneAPI(
            controller: controller, store: store, loader: ImageLoader(store: store, blobs: blobs, snapshots: snapshots),
            uploadDirectory: layout.uploads, logFile: { runtime.logPath(for: $0) }, version: Self.version,
            registry: registry, metrics: { metrics.render(await controller.scalingStatus()) })
        let application = Application(
            router: api.router(),
            configuration: .init(address: .hostname(config.apiHost, port: config.apiPort), serverName: "skiff"),
            logger: logger)

        logger.notice(
            "skiff server \(Self.version): API http://\(config.apiHost):\(config.apiPort), gateway http://\(config.httpHost):\(config.httpPort), data \(config.dataDir)"
        )
        // The stored services are routed before anything listens: from the first request the
        // gateway queues theirs (instances come next, adopted or started) instead of a 404.
        await controller.restore()
        // Shutdown runs in reverse: the API stops first, then the gateway finishes its
        // requests, then the instances are released or drain and stop, then the pooled
        // network namespaces go.
        // What would touch the predecessor's instances, namespaces or API port waits for it.
        func afterPredecessor(_ service: any Service) -> any Service {
            AfterPredecessor(service: service, predecessor: predecessor, logger: logger)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: afterPredecessor(runtime.networkPool())),
                    .init(service: afterPredecessor(controller)),
                    .init(service: gateway), .init(service: prefetcher),
                    // The API answers once the instances left running are adopted: from its first
                    // answer, what it lists is what runs.
                    .init(service: AfterAdoption(service: afterPredecessor(application), controller: controller)),
                ],
                gracefulShutdownSignals: [.sigterm],
                logger: logger))
        do {
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                // SIGINT (Ctrl-C, `make stop`) stops the platform for good, instances included.
                tasks.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sigint) {
                        logger.notice("SIGINT: stopping the server and every instance")
                        controller.stopInstancesOnShutdown()
                        await group.triggerGracefulShutdown()
                        return
                    }
                }
                if let predecessor {
                    tasks.addTask {
                        _ = try await gateway.waitUntilListening()
                        logger.notice(
                            "accepting on the listening socket of skiff server \(predecessor.pid); asking it to stop")
                        predecessor.requestStop()
                    }
                }
                try await group.run()
                tasks.cancelAll()
            }
        } catch {
            try? await upstreamHTTP.shutdown()
            throw error
        }
        try? await upstreamHTTP.shutdown()
        if config.gatewayThreads != nil { try? await gatewayLoops.shutdownGracefully() }
        let kept = await controller.releasedInstances
        if kept == 0 {
            await runtime.tearDownNetwork()
        } else {
            // The bridge and its firewall chain stay: the kept instances are attached to them.
            logger.notice("\(kept) instance(s) keep running for the next start of skiff server on \(config.dataDir)")
        }
        logger.notice("skiff server stopped")
    }

    /// The names clients use for this server's registry: the API address, and the loopback
    /// aliases when it listens on loopback or on every address.
    static func registryHosts(_ config: ServerConfiguration) -> Set<String> {
        let port = config.apiPort
        var hosts: Set<String> = [
            config.apiHost.contains(":") ? "[\(config.apiHost)]:\(port)" : "\(config.apiHost):\(port)"
        ]
        if ["127.0.0.1", "localhost", "0.0.0.0", "::", "::1"].contains(config.apiHost) {
            hosts.formUnion(["localhost:\(port)", "127.0.0.1:\(port)", "[::1]:\(port)"])
        }
        return hosts
    }
}
