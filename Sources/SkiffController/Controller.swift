public import Foundation
public import Logging
public import ServiceLifecycle
public import SkiffGateway
public import SkiffModel
public import SkiffOCI
public import SkiffRuntime
public import SkiffStore
import Synchronization

/// Reconciles what users asked for (services in the store) with what runs (instances in the
/// runtime) and what the gateway routes to.
///
/// One supervisor task per instance starts it, probes it until ready, publishes it to the
/// routing table, watches its process and restarts it with backoff; the reconcile loop only
/// decides which instances should exist. All of those tasks are children of `run()`, so
/// shutdown cancels nothing halfway: it asks every instance to drain and stop, then returns.
public actor Controller: ServiceLifecycle.Service {
    /// Settings of the control loop, with the defaults Knative and Kubernetes use.
    public struct Configuration: Sendable {
        /// Services are reachable at `http://NAME.DOMAIN[:gatewayPort]/`.
        public var domain: String = "localhost"
        public var gatewayPort: Int = 8080
        /// How long a stopping instance may take to finish its requests before SIGKILL.
        public var drainTimeout: Duration = .seconds(10)
        /// How long a new instance may take to accept connections on its port.
        public var readinessBudget: Duration = TCPReadinessProbe.budget
        /// How often the reconcile loop runs when nothing wakes it.
        public var resyncInterval: Duration = .milliseconds(500)

        public init() {}
    }

    struct Desired: Sendable {
        var row: ServiceRow
        var revision: Revision
        var image: ResolvedImage
    }

    struct Supervised: Sendable {
        var instance: Instance
        var stopRequested = false
        /// Set when the instance gave up (readiness budget spent): it is kept for inspection, not restarted.
        var gaveUp = false
    }

    let configuration: Configuration
    let store: Store
    let resolver: ImageResolver
    let runtime: any ContainerRuntime
    let routing: RoutingTable
    let probe: TCPReadinessProbe
    let logger: Logger

    private var desired: [ServiceName: Desired] = [:]
    private var supervised: [String: Supervised] = [:]
    private var published: [ServiceName: [Backend]] = [:]
    private var shuttingDown = false
    /// Reconcile passes so far: a diagnostic, and how tests tell a quiet loop from a spinning one.
    public private(set) var reconcilePasses = 0
    private nonisolated let shutdownRequested = Atomic<Bool>(false)
    private let jobs: AsyncStream<String>
    private let jobsContinuation: AsyncStream<String>.Continuation
    private let wakeups: AsyncStream<Void>
    private let wakeupsContinuation: AsyncStream<Void>.Continuation

    public init(
        configuration: Configuration, store: Store, resolver: ImageResolver, runtime: any ContainerRuntime,
        routing: RoutingTable, probe: TCPReadinessProbe = TCPReadinessProbe(), logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.resolver = resolver
        self.runtime = runtime
        self.routing = routing
        self.probe = probe
        self.logger = logger
        (jobs, jobsContinuation) = AsyncStream.makeStream()
        (wakeups, wakeupsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Running

    public func run() async throws {
        await recover()
        await loadDesired()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.reconcileLoop() }
                for await id in jobs {
                    group.addTask { await self.supervise(id) }
                }
            }
        } onGracefulShutdown: {
            // Called synchronously from the signal path: flag it and wake the reconcile loop,
            // which stops the instances from inside the actor.
            self.shutdownRequested.store(true, ordering: .relaxed)
            self.wakeupsContinuation.yield()
        }
    }

    private func beginShutdown() {
        logger.info("stopping all instances", metadata: ["count": "\(supervised.count)"])
        shuttingDown = true
        for id in supervised.keys { supervised[id]?.stopRequested = true }
        wakeupsContinuation.yield()
    }

    /// Reconciles on every wakeup; a sibling ticker wakes it every `resyncInterval` so drift
    /// (an instance that died unnoticed, a failed start to retry) is caught without an event.
    ///
    /// The wakeup stream has exactly one iterator for the server's whole life: cancelling a
    /// task blocked in `AsyncStream.next()` terminates the stream for good, so a timeout must
    /// never be raced against `next()`.
    private func reconcileLoop() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.resyncTicker() }
            reconcile()
            for await _ in wakeups {
                if !shuttingDown, shutdownRequested.load(ordering: .relaxed) { beginShutdown() }
                reconcile()
                if shuttingDown && supervised.isEmpty { break }
            }
            jobsContinuation.finish()
            group.cancelAll()
        }
    }

    private nonisolated func resyncTicker() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.resyncInterval)
            wakeupsContinuation.yield()
        }
    }

    private func wake() { wakeupsContinuation.yield() }

    /// Removes whatever a previous server process left: its instances are not adopted but
    /// stopped, so nothing runs twice; reconcile then starts fresh ones.
    private func recover() async {
        var ids = Set<String>()
        do {
            ids.formUnion(try await store.instances().map(\.id))
        } catch {
            logger.error("cannot read instance records: \(error)")
        }
        do {
            ids.formUnion(try await runtime.leftovers())
        } catch {
            logger.error("cannot list leftover containers: \(error)")
        }
        for id in ids.sorted() {
            logger.info("cleaning up instance left by a previous run", metadata: ["instance": "\(id)"])
            do {
                try await runtime.stop(instanceID: id, grace: .seconds(2))
            } catch {
                logger.error("cannot clean up instance \(id): \(error)")
            }
            try? await store.deleteInstance(id: id)
        }
    }

    private func loadDesired() async {
        let services: [(record: ServiceRow, revision: Revision)]
        do {
            services = try await store.services()
        } catch {
            logger.error("cannot read services: \(error)")
            return
        }
        for (row, revision) in services {
            do {
                let digest = try Digest(revision.imageDigest)
                let image = try await resolver.resolve(digest, as: revision.spec.image)
                desired[row.name] = Desired(row: row, revision: revision, image: image)
            } catch {
                logger.error("service \(row.name) cannot run: \(error)")
            }
        }
    }

    // MARK: Requests

    /// Creates or updates a service. Validation and image resolution happen first, so a
    /// rejected deploy changes nothing.
    public func deploy(name: ServiceName, spec: ServiceSpec) async throws(ControllerError) -> (service: SkiffModel.Service, created: Bool) {
        guard !shuttingDown else { throw ControllerError(.unavailable, "the server is shutting down") }
        do {
            try spec.validate()
        } catch {
            throw ControllerError(.invalidArgument, error.message)
        }
        let digest = try await resolver.digest(for: spec.image)
        let image = try await resolver.resolve(digest, as: spec.image)
        let created = desired[name] == nil
        do {
            let (revision, isNew) = try await store.deploy(service: name, spec: spec, imageDigest: digest.description)
            guard let (row, _) = try await store.service(name) else {
                throw ControllerError(.internalError, "service \(name) vanished while it was deployed")
            }
            desired[name] = Desired(row: row, revision: revision, image: image)
            logger.info(
                "deployed", metadata: ["service": "\(name)", "revision": "\(revision.name)", "new": "\(isNew)"])
        } catch let error as ControllerError {
            throw error
        } catch {
            throw ControllerError(.internalError, "cannot store service \(name)", cause: error)
        }
        reconcile()
        guard let view = view(of: name) else {
            throw ControllerError(.internalError, "service \(name) vanished while it was deployed")
        }
        return (view, created)
    }

    /// Deletes a service after its instances drained and stopped.
    public func delete(name: ServiceName) async throws(ControllerError) {
        guard desired[name] != nil else {
            throw ControllerError(.notFound, "service \"\(name)\" not found")
        }
        do {
            try await store.deleteService(name)
        } catch {
            throw ControllerError(.internalError, "cannot delete service \(name)", cause: error)
        }
        desired[name] = nil
        reconcile()
        // Stopping drains in-flight requests for up to the drain timeout, then kills.
        let deadline = ContinuousClock.now + configuration.drainTimeout + .seconds(20)
        while supervised.values.contains(where: { $0.instance.service == name }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    public func services() -> [SkiffModel.Service] {
        desired.keys.sorted().compactMap { view(of: $0) }
    }

    public func service(_ name: ServiceName) throws(ControllerError) -> SkiffModel.Service {
        guard let view = view(of: name) else { throw ControllerError(.notFound, "service \"\(name)\" not found") }
        return view
    }

    /// Instances of one service, or of all, oldest first.
    public func instances(of name: ServiceName? = nil) throws(ControllerError) -> [Instance] {
        if let name, desired[name] == nil { throw ControllerError(.notFound, "service \"\(name)\" not found") }
        return supervised.values.map(\.instance)
            .filter { name == nil || $0.service == name }
            .sorted { ($0.service, $0.startedAt ?? .distantFuture, $0.id) < ($1.service, $1.startedAt ?? .distantFuture, $1.id) }
    }

    private func view(of name: ServiceName) -> SkiffModel.Service? {
        guard let wanted = desired[name] else { return nil }
        let current = supervised.values.filter { $0.instance.service == name && $0.instance.revision == wanted.revision.name }
        let port = configuration.gatewayPort == 80 ? "" : ":\(configuration.gatewayPort)"
        return SkiffModel.Service(
            name: name, spec: wanted.row.spec, latestRevision: wanted.revision.name,
            imageDigest: wanted.revision.imageDigest, url: "http://\(name).\(configuration.domain)\(port)/",
            createdAt: wanted.row.createdAt, updatedAt: wanted.row.updatedAt,
            readyInstances: current.filter { $0.instance.state == .ready }.count,
            message: current.compactMap(\.instance.message).first)
    }

    // MARK: Reconciling

    /// Decides which instances should exist; never waits.
    private func reconcile() {
        reconcilePasses += 1
        if !shuttingDown {
            for (name, wanted) in desired {
                let live = supervised.values.filter { $0.instance.service == name && !$0.stopRequested }
                let current = live.filter { $0.instance.revision == wanted.revision.name }
                let want = wanted.revision.spec.minInstances
                if current.count < want {
                    for _ in current.count..<want { create(wanted) }
                } else if current.count > want {
                    let extras = current.sorted { rank($0) < rank($1) }.prefix(current.count - want)
                    for extra in extras { supervised[extra.instance.id]?.stopRequested = true }
                }
                let ready = current.filter { $0.instance.state == .ready }.count
                if ready >= want {
                    for old in live where old.instance.revision != wanted.revision.name {
                        supervised[old.instance.id]?.stopRequested = true
                    }
                }
            }
            for (id, entry) in supervised where desired[entry.instance.service] == nil {
                supervised[id]?.stopRequested = true
            }
        }
        publishRoutes()
    }

    /// Lower ranks are stopped first: not-ready before ready, newest before oldest.
    private func rank(_ entry: Supervised) -> (Int, Double) {
        (entry.instance.state == .ready ? 1 : 0, -(entry.instance.startedAt?.timeIntervalSince1970 ?? .infinity))
    }

    /// Routes each service to its latest revision's ready instances, and to older ready
    /// ones only while the latest has none, so a rollout never leaves a gap.
    private func publishRoutes() {
        var services = Set(desired.keys)
        services.formUnion(published.keys)
        for name in services {
            var backends: [Backend] = []
            if let wanted = desired[name] {
                let ready = supervised.values.filter {
                    $0.instance.service == name && $0.instance.state == .ready && !$0.stopRequested
                }
                let latest = ready.filter { $0.instance.revision == wanted.revision.name }
                let chosen = latest.isEmpty ? ready : latest
                backends = chosen.compactMap { backend(for: $0.instance) }.sorted { $0.id < $1.id }
            }
            guard published[name] != backends else { continue }
            if desired[name] == nil {
                routing.removeService(name.rawValue)
                published[name] = nil
            } else {
                routing.setBackends(backends, for: name.rawValue)
                published[name] = backends
            }
        }
    }

    private func backend(for instance: Instance) -> Backend? {
        guard let address = instance.address, let colon = address.lastIndex(of: ":"),
            let port = Int(address[address.index(after: colon)...])
        else { return nil }
        return Backend(id: instance.id, host: String(address[..<colon]), port: port)
    }

    private func create(_ wanted: Desired) {
        let id = "\(wanted.revision.name)-\(Self.randomSuffix())"
        supervised[id] = Supervised(
            instance: Instance(id: id, service: wanted.row.name, revision: wanted.revision.name, state: .starting))
        jobsContinuation.yield(id)
    }

    private static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<5).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }

    // MARK: Instance bookkeeping used by supervisors

    func entry(_ id: String) -> Supervised? { supervised[id] }

    func update(_ id: String, _ change: (inout Instance) -> Void) async {
        guard var entry = supervised[id] else { return }
        change(&entry.instance)
        supervised[id] = entry
        publishRoutes()
        let instance = entry.instance
        do {
            try await store.putInstance(instance)
        } catch {
            logger.error("cannot record instance \(id): \(error)")
        }
    }

    func markGaveUp(_ id: String) { supervised[id]?.gaveUp = true }

    func remove(_ id: String) async {
        supervised[id] = nil
        publishRoutes()
        wake()
        try? await store.deleteInstance(id: id)
    }

    func spec(for id: String) -> InstanceSpec? {
        guard let entry = supervised[id], let wanted = desired[entry.instance.service],
            wanted.revision.name == entry.instance.revision
        else { return nil }
        return InstanceSpec.make(id: id, revision: wanted.revision, image: wanted.image)
    }

    /// Asks for a reconcile pass now rather than at the next resync.
    public func requestReconcile() { wake() }
}
