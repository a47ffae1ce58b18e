import Foundation
public import Logging
public import ServiceLifecycle
import SkiffAutoscaler
public import SkiffGateway
import SkiffModel
public import SkiffRegistry
public import SkiffRuntime
public import SkiffStore

/// Reconciles what users asked for (services in the store) with what runs (instances in the
/// runtime) and what the gateway routes to.
///
/// One supervisor task per instance starts it, probes it until ready, publishes it to the
/// routing table, watches its process and restarts it with backoff; the reconcile loop only
/// decides which instances should exist. All of those tasks are children of `run()`, so
/// shutdown cancels nothing halfway: it asks every instance to drain and stop, then returns.
///
/// The actor keeps state and performs actions; the decisions are values it asks:
/// ``ServiceCatalog`` (what should run and where traffic goes), ``RevisionScaling`` (how many
/// instances, which to start and stop), ``RoutePublication`` (what the routing table is told),
/// `RolloutMachine` and `RecoveryPlan`. Every time they read comes from one ``ControlClock``.
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
        /// Revisions kept per service for rollback, besides those serving traffic.
        public var revisionHistory: Int = Store.revisionHistory
        /// How often instance logs are checked against the runtime's ``LogPolicy``.
        public var logMaintenanceInterval: Duration = .seconds(30)
        /// Whether a graceful shutdown leaves ready instances running for the next server
        /// process to adopt; ``stopInstancesOnShutdown()`` overrides it for one shutdown.
        public var keepInstancesOnShutdown = false
        /// How long adoption waits for an instance left by a previous run to accept a connection.
        public var adoptionProbeTimeout: Duration = .milliseconds(500)

        public init() {}
    }

    enum Phase: Sendable {
        /// The stored services are not loaded yet.
        case starting
        /// The stored services were loaded and published (``restore()``).
        case running
        /// Instances are being stopped or let go of; nothing new is deployed.
        case shuttingDown
    }

    let configuration: Configuration
    let store: Store
    let resolver: ImageResolver
    let runtime: any ContainerRuntime
    let routing: RoutingTable
    let probe: TCPReadinessProbe
    let memory: MemoryGauge
    /// The time every decision reads and every wait between polls sleeps on.
    let clock: ControlClock
    let logger: Logger

    /// The services that should run, and which of their revisions became ready.
    var catalog: ServiceCatalog
    var supervised: [String: Supervised] = [:]
    /// Each active revision's autoscaler and reconciler.
    var scaling = RevisionScaling()
    private var publication = RoutePublication()
    /// Instances of never-ready revisions that crashed or could not start, per revision.
    var neverReadyStrikes: [String: Int] = [:]
    /// What happened to each service lately.
    var events = EventLog()
    /// The latest gradual rollout of each service that had one.
    var rollouts = ServiceRollouts()
    /// The scaling loop's state: per-second concurrency buckets and idle instances.
    var sampling = SamplingState()
    var phase = Phase.starting
    private let shutdown: ShutdownRequest
    /// Instances left running at the last shutdown, for the next server process to adopt.
    public private(set) var releasedInstances = 0
    /// Reconcile passes so far: a diagnostic, and how tests tell a quiet loop from a spinning one.
    public private(set) var reconcilePasses = 0
    private let launches = Inbox<Launch>()
    /// Whether the instances a previous run left were taken back (or found gone), and who waits
    /// for that.
    private var adoptionDone = false
    private var adoptionWaiters: [CheckedContinuation<Void, Never>] = []
    private let wakeups = Inbox<Void>(bufferingPolicy: .bufferingNewest(1))
    /// Revision names the gateway's activator reports when a request waits for capacity.
    let demands: AsyncStream<String>

    /// - Parameters:
    ///   - demands: revision names the gateway's activator reports when a request waits for
    ///     capacity (``RoutingTable``'s `onDemand`); each wakes that revision at once.
    ///   - clock: what the controller's decisions and polls read the time from; tests pass a
    ///     manual clock to drive them tick by tick.
    public init(
        configuration: Configuration, store: Store, resolver: ImageResolver, runtime: any ContainerRuntime,
        routing: RoutingTable, probe: TCPReadinessProbe = TCPReadinessProbe(),
        demands: AsyncStream<String> = AsyncStream { $0.finish() }, memory: MemoryGauge = MemoryGauge(),
        clock: some Clock<Duration> = ContinuousClock(), logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.resolver = resolver
        self.runtime = runtime
        self.routing = routing
        self.probe = probe
        self.memory = memory
        self.clock = ControlClock(clock)
        self.logger = logger
        self.demands = demands
        catalog = ServiceCatalog(domain: configuration.domain, gatewayPort: configuration.gatewayPort)
        shutdown = ShutdownRequest(stopsInstances: !configuration.keepInstancesOnShutdown)
    }

    // MARK: Running

    public func run() async throws {
        await restore()
        let discarded = await adoptLeftovers()
        self.adoptionDone = true
        for waiter in self.adoptionWaiters { waiter.resume() }
        self.adoptionWaiters = []
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                if !discarded.isEmpty { group.addTask { await self.cleanUp(discarded) } }
                group.addTask { await self.reconcileLoop() }
                group.addTask { await self.scalingLoop() }
                group.addTask { await self.demandLoop() }
                group.addTask { await self.logLoop() }
                for await launch in launches.messages {
                    group.addTask { await self.supervise(launch.id, adopted: launch.adopted) }
                }
                // Every instance has stopped: end the scaling and demand loops too.
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Called synchronously from the signal path: flag it and wake the reconcile loop,
            // which stops the instances from inside the actor.
            self.shutdown.request()
            self.wakeups.post(())
        }
    }

    /// Returns once the instances a previous server process left running are adopted (or found
    /// gone), so that what the API lists from its first answer is what runs.
    public func waitUntilAdopted() async {
        if self.adoptionDone { return }
        await withCheckedContinuation { self.adoptionWaiters.append($0) }
    }

    /// Makes the coming graceful shutdown stop every instance, whatever
    /// ``Configuration/keepInstancesOnShutdown`` says: the platform stops for good.
    public nonisolated func stopInstancesOnShutdown() { shutdown.stopAllInstances() }

    /// Stops every instance, or, when instances are kept, lets go of the serving ones (they
    /// keep running, and their records stay for the next process) and stops the rest.
    private func beginShutdown() {
        phase = .shuttingDown
        let keep = !shutdown.stopsAllInstances
        for (id, entry) in supervised {
            supervised[id]?.stopRequested = true
            if keep, entry.instance.state.isServing {
                supervised[id]?.released = true
            }
        }
        let released = supervised.values.filter(\.released).count
        logger.info(
            keep ? "stopping; ready instances keep running for the next start" : "stopping all instances",
            metadata: ["stopping": "\(supervised.count - released)", "keeping": "\(released)"])
        wake()
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
            for await _ in wakeups.messages {
                if phase != .shuttingDown, shutdown.isRequested { beginShutdown() }
                reconcile()
                await recordReadiness()
                await recordRollouts()
                if phase == .shuttingDown && supervised.isEmpty { break }
            }
            launches.close()
            group.cancelAll()
        }
    }

    private nonisolated func resyncTicker() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: configuration.resyncInterval)
            wakeups.post(())
        }
    }

    private func wake() { wakeups.post(()) }

    /// Asks for a reconcile pass now rather than at the next resync.
    public func requestReconcile() { wake() }

    // MARK: Reconciling

    /// Decides which instances should exist; never waits.
    ///
    /// Each active revision (the latest, and those the traffic routes to) runs as many
    /// instances as its autoscaler wants; at zero, its last instances stay (frozen) for the
    /// retention period. Other revisions drain and stop: `latest` traffic keeps going to the
    /// previous ready revision until the new one is ready, so it keeps running until then.
    func reconcile() {
        reconcilePasses += 1
        if phase != .shuttingDown {
            let now = clock.now
            let underPressure = memory.isUnderPressure(reserve: configuration.memoryReserve)
            var active = Set<String>()
            for name in catalog.names {
                let runnables = catalog.activeRevisions(of: name)
                for runnable in runnables {
                    active.insert(runnable.revision.name)
                    reconcile(runnable, now: now, underPressure: underPressure)
                }
                let running = Set(runnables.map(\.revision.name))
                for (id, entry) in supervised
                where entry.instance.service == name && !running.contains(entry.instance.revision) {
                    supervised[id]?.stopRequested = true
                }
            }
            for (id, entry) in supervised where catalog[entry.instance.service] == nil {
                supervised[id]?.stopRequested = true
            }
            scaling.keep(only: active)
        }
        publishRoutes()
    }

    /// Brings one active revision to the instance count its autoscaler wants, as its
    /// deciders in ``RevisionScaling`` say.
    private func reconcile(_ runnable: ServiceCatalog.Runnable, now: Duration, underPressure: Bool) {
        let revision = runnable.revision.name
        let spec = runnable.revision.spec
        let service = runnable.revision.service
        let current = supervised.values.filter { $0.instance.revision == revision && !$0.stopRequested }
        let views = current.map { entry in
            RevisionReconciler.Instance(
                id: entry.instance.id, serving: entry.instance.state.isServing,
                inFlight: routing.inFlight(backendID: entry.instance.id),
                startedAt: entry.instance.startedAt.map { .seconds($0.timeIntervalSince1970) })
        }
        let memory = self.memory
        let reserve = configuration.memoryReserve
        let plan = scaling.reconcile(
            revision, spec: spec.scaling, instances: views, now: now, underPressure: underPressure,
            fitting: { memory.instancesThatFit($0, each: spec.memory?.bytes, reserve: reserve / 2) })
        if plan.ready, catalog.noteReady(revision, of: service) {
            logger.info("revision ready", metadata: ["service": "\(service)", "revision": "\(revision)"])
            recordEvent(service: service, revision: revision, .normal, "RevisionReady", "\(revision) is ready")
        }
        if plan.warnOfMemory {
            logger.warning(
                "not enough memory for more instances",
                metadata: ["revision": "\(revision)", "wanted": "\(plan.desired)", "running": "\(current.count)"])
        }
        for _ in 0..<plan.start { create(runnable) }
        for id in plan.stop { supervised[id]?.stopRequested = true }
    }

    /// Tells the routing table what changed since it was last told, one step per service.
    func publishRoutes() {
        for changes in publication.publish(catalog, instances: supervised.values) { routing.apply(changes) }
    }

    private func create(_ runnable: ServiceCatalog.Runnable) {
        let id = "\(runnable.revision.name)-\(Self.randomSuffix())"
        supervised[id] = Supervised(
            instance: Instance(
                id: id, service: runnable.revision.service, revision: runnable.revision.name, state: .starting))
        launches.post(Launch(id: id))
    }

    /// The length of the random part of an instance's name.
    static let suffixLength = 5

    private static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<suffixLength).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
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

    var supervisedInstances: Dictionary<String, Supervised>.Values { supervised.values }

    func isKnown(_ service: ServiceName) -> Bool { catalog[service] != nil }

    func isLatest(_ revision: Revision) -> Bool { catalog[revision.service]?.revision.name == revision.name }

    /// How long an instance of `revision` may idle before it is frozen; nil never freezes
    /// (revisions being retired, or `freezeAfter` 0).
    func freezeAfter(of revision: String) -> Duration? {
        guard scaling.scaler(of: revision) != nil, let runnable = catalog.runnable(revision) else { return nil }
        let span = runnable.revision.spec.scaling.freezeAfter.duration
        return span > .zero ? span : nil
    }

    /// Forgets a released instance without stopping it; its record stays in the store, with
    /// its address and state, for the next server process to adopt.
    func release(_ id: String) {
        supervised[id] = nil
        releasedInstances += 1
        publishRoutes()
        wake()
    }

    func remove(_ id: String) async {
        supervised[id] = nil
        publishRoutes()
        wake()
        try? await store.deleteInstance(id: id)
    }

    func spec(for id: String) -> InstanceSpec? {
        guard let entry = supervised[id],
            let runnable = catalog[entry.instance.service]?.runnable(entry.instance.revision)
        else { return nil }
        return InstanceSpec.make(id: id, revision: runnable.revision, image: runnable.image)
    }

    /// Hands an adopted instance to a supervisor of its own.
    func launch(adopted: StartedInstance) { launches.post(Launch(id: adopted.id, adopted: adopted)) }
}
