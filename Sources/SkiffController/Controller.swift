public import Foundation
public import Logging
public import ServiceLifecycle
import SkiffAutoscaler
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
        /// Frozen instances kept after scaling to zero go early when less than this share of
        /// the machine's memory is available, and no instance is started below half of it.
        public var memoryReserve: Double = 0.10

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
    /// What the routing table was last told, per service: revision → backends, and traffic.
    private var published: [ServiceName: PublishedService] = [:]
    /// The autoscaler of each service's latest revision, by revision name.
    var scalers: [String: RevisionScaler] = [:]
    /// Revisions scaled to zero whose last instances are kept frozen until then.
    var retainedUntil: [String: ContinuousClock.Instant] = [:]
    /// The newest revision of each service that became ready.
    private var latestReady: [ServiceName: String] = [:]
    /// Revisions held below their desired count by memory, warned about once.
    private var memoryLimited: Set<String> = []
    /// The spec each published revision was routed with; older revisions keep theirs.
    private var revisionSpecs: [String: ServiceSpec] = [:]
    /// The scaling loop's state: per-second concurrency buckets and idle instances.
    var sampling = SamplingState()
    /// Zero of the autoscalers' clock.
    let epoch = ContinuousClock.now
    let memory: MemoryGauge
    private var shuttingDown = false
    /// Reconcile passes so far: a diagnostic, and how tests tell a quiet loop from a spinning one.
    public private(set) var reconcilePasses = 0
    private nonisolated let shutdownRequested = Atomic<Bool>(false)
    private let jobs: AsyncStream<String>
    private let jobsContinuation: AsyncStream<String>.Continuation
    private let wakeups: AsyncStream<Void>
    private let wakeupsContinuation: AsyncStream<Void>.Continuation

    let demands: AsyncStream<String>

    /// - Parameter demands: revision names the gateway's activator reports when a request
    ///   waits for capacity (``RoutingTable``'s `onDemand`); each wakes that revision at once.
    public init(
        configuration: Configuration, store: Store, resolver: ImageResolver, runtime: any ContainerRuntime,
        routing: RoutingTable, probe: TCPReadinessProbe = TCPReadinessProbe(),
        demands: AsyncStream<String> = AsyncStream { $0.finish() }, memory: MemoryGauge = MemoryGauge(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.demands = demands
        self.memory = memory
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
                group.addTask { await self.scalingLoop() }
                group.addTask { await self.demandLoop() }
                for await id in jobs {
                    group.addTask { await self.supervise(id) }
                }
                // Every instance has stopped: end the scaling and demand loops too.
                group.cancelAll()
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
            readyInstances: current.filter { $0.instance.state.isServing }.count,
            latestReadyRevision: latestReady[name], message: current.compactMap(\.instance.message).first)
    }

    // MARK: Reconciling

    /// Decides which instances should exist; never waits.
    ///
    /// The latest revision of each service runs as many instances as its autoscaler wants;
    /// at zero, its last instances stay (frozen) for the retention period. Older revisions
    /// keep serving until the latest is ready, then drain.
    func reconcile() {
        reconcilePasses += 1
        if !shuttingDown {
            let now = ContinuousClock.now
            let underPressure = memory.isUnderPressure(reserve: configuration.memoryReserve)
            for (name, wanted) in desired {
                let revision = wanted.revision.name
                let live = supervised.values.filter { $0.instance.service == name && !$0.stopRequested }
                let current = live.filter { $0.instance.revision == revision }
                let serving = current.filter { $0.instance.state.isServing }.count
                var scaler = scalers[revision] ?? RevisionScaler(spec: wanted.revision.spec.scaling, now: clock(now))
                scaler.observe(readyInstances: serving)
                scalers[revision] = scaler
                if scaler.isReady { latestReady[name] = revision }

                var want = scaler.desired
                // Retention keeps frozen instances; without freezing there is nothing to keep.
                let retains = wanted.revision.spec.scaling.freezeAfter.duration > .zero
                if want == 0, !current.isEmpty, retains {
                    let until = retainedUntil[revision] ?? now + wanted.revision.spec.scaling.frozenRetention.duration
                    retainedUntil[revision] = until
                    if now < until, !underPressure { want = serving }
                } else {
                    retainedUntil[revision] = nil
                }
                if current.count < want {
                    let allowed = memory.instancesThatFit(
                        want - current.count, each: wanted.revision.spec.memory?.bytes, reserve: configuration.memoryReserve / 2)
                    if allowed < want - current.count, memoryLimited.insert(revision).inserted {
                        logger.warning(
                            "not enough memory for more instances",
                            metadata: ["service": "\(name)", "wanted": "\(want)", "running": "\(current.count)"])
                    } else if allowed == want - current.count {
                        memoryLimited.remove(revision)
                    }
                    for _ in 0..<allowed { create(wanted) }
                } else if current.count > want {
                    let extras = current.sorted { rank($0) < rank($1) }.prefix(current.count - want)
                    for extra in extras { supervised[extra.instance.id]?.stopRequested = true }
                }
                if scaler.isReady {
                    for old in live where old.instance.revision != revision {
                        supervised[old.instance.id]?.stopRequested = true
                    }
                }
            }
            for (id, entry) in supervised where desired[entry.instance.service] == nil {
                supervised[id]?.stopRequested = true
            }
            let latest = Set(desired.values.map(\.revision.name))
            for revision in scalers.keys where !latest.contains(revision) {
                scalers[revision] = nil
                retainedUntil[revision] = nil
            }
        }
        publishRoutes()
    }

    /// The autoscalers' time: an offset from the controller's start.
    func clock(_ instant: ContinuousClock.Instant = .now) -> Duration { instant - epoch }

    /// Lower ranks are stopped first: not-ready before ready, busy after idle, newest before oldest.
    private func rank(_ entry: Supervised) -> (Int, Int, Double) {
        let load = routing.inFlight(backendID: entry.instance.id)
        return (
            entry.instance.state.isServing ? 1 : 0, load,
            -(entry.instance.startedAt?.timeIntervalSince1970 ?? .infinity)
        )
    }

    struct PublishedService: Equatable {
        var revisions: [String: [Backend]] = [:]
        var traffic: String?
    }

    /// Publishes every revision that has instances (and each latest revision, even at zero,
    /// so its requests queue for it) and routes each service to its latest revision once
    /// that is ready, until then to the revision still serving.
    private func publishRoutes() {
        var services = Set(desired.keys)
        services.formUnion(published.keys)
        for name in services {
            let before = published[name] ?? PublishedService()
            var after = PublishedService()
            var specs: [String: ServiceSpec] = [:]
            if let wanted = desired[name] {
                let latest = wanted.revision.name
                after.revisions[latest] = []
                specs[latest] = wanted.revision.spec
                for entry in supervised.values where entry.instance.service == name {
                    let revision = entry.instance.revision
                    if after.revisions[revision] == nil { after.revisions[revision] = [] }
                    if entry.instance.state.isServing, !entry.stopRequested, let backend = backend(for: entry.instance) {
                        after.revisions[revision, default: []].append(backend)
                    }
                }
                for revision in after.revisions.keys { after.revisions[revision]?.sort { $0.id < $1.id } }
                if scalers[latest]?.isReady == true {
                    after.traffic = latest
                } else {
                    let serving = after.revisions.filter { $0.key != latest && !$0.value.isEmpty }.keys.sorted()
                    after.traffic = serving.last ?? latest
                }
            }
            guard before != after else { continue }
            for (revision, backends) in after.revisions where before.revisions[revision] != backends {
                let spec = specs[revision] ?? revisionSpecs[revision]
                routing.setRevision(revision, settings: Self.routeSettings(spec), backends: backends)
                if let spec { revisionSpecs[revision] = spec }
            }
            if let traffic = after.traffic, traffic != before.traffic {
                routing.setTraffic(name.rawValue, to: traffic)
            }
            if after.traffic == nil { routing.removeService(name.rawValue) }
            for revision in before.revisions.keys where after.revisions[revision] == nil {
                routing.removeRevision(revision)
                revisionSpecs[revision] = nil
            }
            published[name] = desired[name] == nil ? nil : after
        }
    }

    /// The data plane's view of a revision's settings.
    static func routeSettings(_ spec: ServiceSpec?) -> RevisionSettings {
        guard let spec else { return RevisionSettings() }
        func limit(_ span: TimeSpan) -> Duration? { span.duration > .zero ? span.duration : nil }
        return RevisionSettings(
            concurrency: spec.scaling.concurrency, queueDepth: spec.scaling.queueDepth,
            responseStartTimeout: limit(spec.timeouts.responseStart), requestTimeout: limit(spec.timeouts.request),
            idleTimeout: limit(spec.timeouts.idle))
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

    var supervisedInstances: Dictionary<String, Supervised>.Values { supervised.values }

    func isKnown(_ service: ServiceName) -> Bool { desired[service] != nil }

    func isLatest(_ revision: Revision) -> Bool { desired[revision.service]?.revision.name == revision.name }

    /// The revision the gateway sends the service's requests to.
    func routedRevision(of service: ServiceName) -> String? { published[service]?.traffic }

    func readyRevision(of service: ServiceName) -> String? { latestReady[service] }

    /// (service, latest revision) of every service.
    var desiredRevisions: [(String, String)] { desired.map { ($0.key.rawValue, $0.value.revision.name) } }

    /// How long an instance of `revision` may idle before it is frozen; nil never freezes
    /// (older revisions, or `freezeAfter` 0).
    func freezeAfter(of revision: String) -> Duration? {
        guard let wanted = desired.values.first(where: { $0.revision.name == revision }) else { return nil }
        let span = wanted.revision.spec.scaling.freezeAfter.duration
        return span > .zero ? span : nil
    }

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
