import Foundation
public import Logging
public import ServiceLifecycle
import SkiffAutoscaler
public import SkiffGateway
public import SkiffModel
import SkiffOCI
public import SkiffRegistry
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

    /// A revision with its image resolved: what instances are made from.
    struct Runnable: Sendable {
        var revision: Revision
        var image: ResolvedImage
    }

    struct Desired: Sendable {
        var row: ServiceRow
        /// The latest revision.
        var revision: Revision
        var image: ResolvedImage
        /// Older revisions the traffic may route to (named by it, or the latest ready one).
        var others: [String: Runnable] = [:]

        var latest: Runnable { Runnable(revision: revision, image: image) }

        func runnable(_ name: String) -> Runnable? {
            name == revision.name ? latest : others[name]
        }
    }

    struct Supervised: Sendable {
        var instance: Instance
        var stopRequested = false
        /// Set with `stopRequested` at a shutdown that keeps instances: its supervisor lets go
        /// of it and it keeps running, for the next server process to adopt.
        var released = false
    }

    /// An instance for a supervisor to run: a new one it starts, or one a previous server
    /// process left running, which it serves from where it is.
    struct Launch: Sendable {
        var id: String
        var adopted: StartedInstance?
    }

    let configuration: Configuration
    let store: Store
    let resolver: ImageResolver
    let runtime: any ContainerRuntime
    let routing: RoutingTable
    let probe: TCPReadinessProbe
    let logger: Logger

    var desired: [ServiceName: Desired] = [:]
    var supervised: [String: Supervised] = [:]
    /// What the routing table was last told, per service.
    private var published: [ServiceName: ServiceRoutes] = [:]
    /// The autoscaler of each active revision (latest, or routed to), by revision name.
    var scalers: [String: RevisionScaler] = [:]
    /// Each active revision's instance decisions, with its retention after a scale to zero.
    var reconcilers: [String: RevisionReconciler] = [:]
    /// The newest revision of each service that became ready: where `latest` traffic goes.
    var latestReady: [ServiceName: String] = [:]
    /// Revisions that became ready and are not yet recorded as such in the store.
    private var readyToRecord: [String] = []
    /// Instances of never-ready revisions that crashed or could not start, per revision.
    var neverReadyStrikes: [String: Int] = [:]
    /// What happened to each service lately.
    var events = EventLog()
    /// The latest gradual rollout of each service that had one.
    var rollouts: [ServiceName: RolloutProgress] = [:]
    /// Services whose rollout changed since it was last written to the store.
    var rolloutsToRecord: Set<ServiceName> = []
    /// Revisions held below their desired count by memory, warned about once.
    private var memoryLimited: Set<String> = []
    /// The scaling loop's state: per-second concurrency buckets and idle instances.
    var sampling = SamplingState()
    /// The time every decision reads and every wait between polls sleeps on.
    let clock: ControlClock
    let memory: MemoryGauge
    private var shuttingDown = false
    /// Whether the stored services were loaded and published (``restore()``).
    private var restored = false
    /// Instances left running at the last shutdown, for the next server process to adopt.
    public private(set) var releasedInstances = 0
    private nonisolated let stopsInstancesOnShutdown: Atomic<Bool>
    /// Reconcile passes so far: a diagnostic, and how tests tell a quiet loop from a spinning one.
    public private(set) var reconcilePasses = 0
    private nonisolated let shutdownRequested = Atomic<Bool>(false)
    private let jobs: AsyncStream<Launch>
    private let jobsContinuation: AsyncStream<Launch>.Continuation
    private let wakeups: AsyncStream<Void>
    private let wakeupsContinuation: AsyncStream<Void>.Continuation

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
        self.clock = ControlClock(clock)
        self.demands = demands
        self.memory = memory
        self.store = store
        self.resolver = resolver
        self.runtime = runtime
        self.routing = routing
        self.probe = probe
        self.logger = logger
        stopsInstancesOnShutdown = Atomic(!configuration.keepInstancesOnShutdown)
        (jobs, jobsContinuation) = AsyncStream.makeStream()
        (wakeups, wakeupsContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Running

    public func run() async throws {
        await restore()
        let discarded = await adoptLeftovers()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                if !discarded.isEmpty { group.addTask { await self.cleanUp(discarded) } }
                group.addTask { await self.reconcileLoop() }
                group.addTask { await self.scalingLoop() }
                group.addTask { await self.demandLoop() }
                group.addTask { await self.logLoop() }
                for await launch in jobs {
                    group.addTask { await self.supervise(launch.id, adopted: launch.adopted) }
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

    /// Makes the coming graceful shutdown stop every instance, whatever
    /// ``Configuration/keepInstancesOnShutdown`` says: the platform stops for good.
    public nonisolated func stopInstancesOnShutdown() {
        stopsInstancesOnShutdown.store(true, ordering: .relaxed)
    }

    /// Stops every instance, or, when instances are kept, lets go of the serving ones (they
    /// keep running, and their records stay for the next process) and stops the rest.
    private func beginShutdown() {
        shuttingDown = true
        let keep = !stopsInstancesOnShutdown.load(ordering: .relaxed)
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
                await recordReadiness()
                await recordRollouts()
                if shuttingDown && supervised.isEmpty { break }
            }
            jobsContinuation.finish()
            group.cancelAll()
        }
    }

    private nonisolated func resyncTicker() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: configuration.resyncInterval)
            wakeupsContinuation.yield()
        }
    }

    private func wake() { wakeupsContinuation.yield() }

    /// Keeps the instances' logs within the runtime's ``LogPolicy``: those of running
    /// instances rotate when they grow too large, those of instances gone long enough go.
    private nonisolated func logLoop() async {
        while !Task.isCancelled {
            try? await clock.sleep(for: configuration.logMaintenanceInterval)
            guard !Task.isCancelled else { return }
            let live = await Set(supervised.keys)
            do {
                let done = try await runtime.maintainLogs(live: live)
                if !done.rotated.isEmpty {
                    logger.info(
                        "rotated instance logs", metadata: ["instances": "\(done.rotated.joined(separator: ", "))"])
                }
                if !done.removed.isEmpty {
                    logger.info("removed logs of ended instances", metadata: ["count": "\(done.removed.count)"])
                }
            } catch {
                logger.warning("cannot keep instance logs in bounds: \(error)")
            }
        }
    }

    /// Loads the stored services and publishes their routes, before any instance is known:
    /// the API answers with every service and the gateway queues their requests (the
    /// activator holds them) from the first moment, instead of answering 404. Idempotent;
    /// the server calls it before it starts listening.
    public func restore() async {
        guard !restored else { return }
        restored = true
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
                let image: ResolvedImage
                do throws(ImageError) {
                    image = try await resolver.resolve(digest, as: revision.spec.image)
                } catch {
                    throw ControllerError(imageError: error)
                }
                if let ready = row.latestReadyRevision { latestReady[row.name] = ready }
                if let rollout = row.rollout { resumeRollout(row.name, rollout) }
                let others = try await runnables(for: row)
                desired[row.name] = Desired(row: row, revision: revision, image: image, others: others)
            } catch {
                logger.error("service \(row.name) cannot run: \(error)")
            }
        }
        publishRoutes()
    }

    /// Loads every revision besides the latest that `row`'s traffic may route to.
    func runnables(for row: ServiceRow, keeping known: [String: Runnable] = [:]) async throws(ControllerError)
        -> [String: Runnable]
    {
        var names = Set(row.traffic.revisionNames)
        if let ready = latestReady[row.name] ?? row.latestReadyRevision { names.insert(ready) }
        names.remove(row.latestRevision)
        var result: [String: Runnable] = [:]
        for name in names.sorted() {
            if let loaded = known[name] {
                result[name] = loaded
                continue
            }
            let stored: Revision?
            do {
                stored = try await store.revision(named: name)
            } catch {
                throw ControllerError(.internalError, "cannot read revision \(name)", cause: error)
            }
            guard let revision = stored else {
                throw ControllerError(.notFound, "revision \"\(name)\" not found")
            }
            do {
                let digest = try Digest(revision.imageDigest)
                do throws(ImageError) {
                    let image = try await resolver.resolve(digest, as: revision.spec.image)
                    result[name] = Runnable(revision: revision, image: image)
                } catch {
                    throw ControllerError(imageError: error)
                }
            } catch {
                throw ControllerError(
                    .conflict, "revision \(name) cannot run: its image \(revision.spec.image) is gone (\(error))")
            }
        }
        return result
    }

    /// Writes readiness noted by reconcile passes to the store, so `latest` traffic and
    /// rollbacks survive a restart.
    private func recordReadiness() async {
        while !readyToRecord.isEmpty {
            let revision = readyToRecord.removeFirst()
            do {
                if let row = try await store.markReady(revision), desired[row.name] != nil {
                    desired[row.name]?.row.latestReadyRevision = row.latestReadyRevision
                }
            } catch {
                logger.error("cannot record that revision \(revision) is ready: \(error)")
            }
        }
    }

    // MARK: Requests

    /// Creates or updates a service, and its traffic. Validation and image resolution happen
    /// first, so a rejected deploy changes nothing.
    public func deploy(
        name: ServiceName, spec: ServiceSpec, options: DeployOptions = DeployOptions()
    ) async throws(ControllerError) -> (service: SkiffModel.Service, created: Bool) {
        guard !shuttingDown else { throw ControllerError(.unavailable, "the server is shutting down") }
        do {
            try spec.validate()
            try options.validate(service: name)
        } catch {
            throw ControllerError(.invalidArgument, error.message)
        }
        let digest: Digest
        let image: ResolvedImage
        do throws(ImageError) {
            digest = try await resolver.digest(for: spec.image)
            image = try await resolver.resolve(digest, as: spec.image)
        } catch {
            throw ControllerError(imageError: error)
        }
        let created = desired[name] == nil
        // A gradual rollout starts with the traffic pinned where it is; with nothing ready
        // to pin it to, the deploy is an ordinary one.
        let rollingFrom = options.rollout == nil ? nil : latestReady[name]
        var options = options
        if rollingFrom != nil { options.noTraffic = true }
        let result: (revision: Revision, created: Bool, pruned: [String])
        let stored: (record: ServiceRow, revision: Revision)?
        do throws(StoreError) {
            result = try await store.deploy(
                service: name, spec: spec, imageDigest: digest.description, options: options,
                latestReady: latestReady[name], keep: configuration.revisionHistory)
            stored = try await store.service(name)
        } catch {
            throw ControllerError(storeError: error, "cannot store service \(name)")
        }
        guard let row = stored?.record else {
            throw ControllerError(.internalError, "service \(name) vanished while it was deployed")
        }
        let revision = result.revision
        logger.info(
            "deployed", metadata: ["service": "\(name)", "revision": "\(revision.name)", "new": "\(result.created)"])
        if !result.pruned.isEmpty {
            logger.info("deleted old revisions", metadata: ["service": "\(name)", "revisions": "\(result.pruned)"])
        }
        let others = try await runnables(for: row, keeping: desired[name]?.others ?? [:])
        desired[name] = Desired(row: row, revision: revision, image: image, others: others)
        if let from = rollingFrom, let policy = options.rollout, from != revision.name {
            startRollout(name, from: from, to: revision.name, base: row.traffic, policy: policy)
        } else {
            cancelRollout(name, because: "superseded by the deploy of \(revision.name)")
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
        events.forget(name)
        rollouts[name] = nil
        reconcile()
        // Stopping drains in-flight requests for up to the drain timeout, then kills.
        let deadline = clock.now + configuration.drainTimeout + .seconds(20)
        while supervised.values.contains(where: { $0.instance.service == name }), clock.now < deadline {
            try? await clock.sleep(until: min(clock.now + .milliseconds(50), deadline))
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
            .sorted {
                ($0.service, $0.startedAt ?? .distantFuture, $0.id) < (
                    $1.service, $1.startedAt ?? .distantFuture, $1.id
                )
            }
    }

    /// Instances of the service's revisions that no longer run but whose logs are still
    /// kept (see ``LogPolicy``), the longest gone first.
    public func endedInstances(of name: ServiceName) async throws(ControllerError) -> [String] {
        // An instance is named after its revision: `REVISION-xxxxx`.
        let revisions = try await revisions(of: name).map { $0.name + "-" }
        let logged = await runtime.loggedInstances()
        return logged.filter { id in
            supervised[id] == nil && revisions.contains { id.hasPrefix($0) && id.count == $0.count + Self.suffixLength }
        }
    }

    func view(of name: ServiceName) -> SkiffModel.Service? {
        guard let wanted = desired[name] else { return nil }
        let current = supervised.values.filter {
            $0.instance.service == name && $0.instance.revision == wanted.revision.name
        }
        return SkiffModel.Service(
            name: name, spec: wanted.row.spec, latestRevision: wanted.revision.name,
            imageDigest: wanted.revision.imageDigest, url: url(of: name.rawValue),
            createdAt: wanted.row.createdAt, updatedAt: wanted.row.updatedAt,
            readyInstances: current.filter { $0.instance.state.isServing }.count,
            latestReadyRevision: latestReady[name],
            message: wanted.revision.failure.map { "revision \(wanted.revision.name) failed: \($0)" }
                ?? current.compactMap(\.instance.message).first,
            traffic: wanted.row.traffic, trafficStatus: resolvedTraffic(of: name),
            latestRevisionFailure: wanted.revision.failure, rollout: rollouts[name]?.status)
    }

    /// `http://KEY.DOMAIN:PORT/` for a routing key (`NAME` or `TAG---NAME`).
    func url(of key: String) -> String {
        let port = configuration.gatewayPort == 80 ? "" : ":\(configuration.gatewayPort)"
        return "http://\(key).\(configuration.domain)\(port)/"
    }

    /// Where the service's requests go now: `latest` is the newest ready revision, or the
    /// latest revision itself while none has been ready (its requests wait for it).
    func resolvedTraffic(of name: ServiceName) -> [ResolvedTarget] {
        guard let wanted = desired[name] else { return [] }
        return wanted.row.traffic.resolved(latestReady: latestReady[name] ?? wanted.revision.name).map { target in
            var target = target
            if let tag = target.tag { target.url = url(of: "\(tag)---\(name)") }
            return target
        }
    }

    /// Revisions of the service that run: the latest (so it becomes ready), and every
    /// revision with a share of the traffic or a tag.
    func activeRevisions(of name: ServiceName) -> [Runnable] {
        guard let wanted = desired[name] else { return [] }
        var names = [wanted.revision.name]
        for target in resolvedTraffic(of: name) where target.percent > 0 || target.tag != nil {
            if !names.contains(target.revision) { names.append(target.revision) }
        }
        return names.compactMap { wanted.runnable($0) }.filter { $0.revision.failure == nil }
    }

    // MARK: Reconciling

    /// Decides which instances should exist; never waits.
    ///
    /// Each active revision (the latest, and those the traffic routes to) runs as many
    /// instances as its autoscaler wants; at zero, its last instances stay (frozen) for the
    /// retention period. Other revisions drain and stop: `latest` traffic keeps going to the
    /// previous ready revision until the new one is ready, so it keeps running until then.
    func reconcile() {
        reconcilePasses += 1
        if !shuttingDown {
            let now = clock.now
            let underPressure = memory.isUnderPressure(reserve: configuration.memoryReserve)
            var active = Set<String>()
            for name in desired.keys.sorted() {
                let runnables = activeRevisions(of: name)
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
            for (id, entry) in supervised where desired[entry.instance.service] == nil {
                supervised[id]?.stopRequested = true
            }
            for revision in scalers.keys where !active.contains(revision) {
                scalers[revision] = nil
                reconcilers[revision] = nil
            }
        }
        publishRoutes()
    }

    /// Brings one active revision to the instance count its autoscaler wants, as its
    /// ``RevisionReconciler`` decides.
    private func reconcile(_ runnable: Runnable, now: Duration, underPressure: Bool) {
        let revision = runnable.revision.name
        let spec = runnable.revision.spec
        let service = runnable.revision.service
        let current = supervised.values.filter { $0.instance.revision == revision && !$0.stopRequested }
        let serving = current.filter { $0.instance.state.isServing }.count
        var scaler = scalers[revision] ?? RevisionScaler(spec: spec.scaling, now: now)
        scaler.observe(readyInstances: serving)
        scalers[revision] = scaler
        if scaler.isReady, desired[service]?.revision.name == revision, latestReady[service] != revision {
            latestReady[service] = revision
            readyToRecord.append(revision)
            logger.info("revision ready", metadata: ["service": "\(service)", "revision": "\(revision)"])
            events.record(
                ServiceEvent(
                    kind: .normal, reason: "RevisionReady", message: "\(revision) is ready", service: service,
                    revision: revision))
        }

        var reconciler = reconcilers[revision] ?? RevisionReconciler(spec: spec.scaling)
        let views = current.map { entry in
            RevisionReconciler.Instance(
                id: entry.instance.id, serving: entry.instance.state.isServing,
                inFlight: routing.inFlight(backendID: entry.instance.id),
                startedAt: entry.instance.startedAt.map { .seconds($0.timeIntervalSince1970) })
        }
        let memory = self.memory
        let reserve = configuration.memoryReserve
        let actions = reconciler.reconcile(
            desired: scaler.desired, instances: views, now: now, underPressure: underPressure,
            fitting: { memory.instancesThatFit($0, each: spec.memory?.bytes, reserve: reserve / 2) })
        reconcilers[revision] = reconciler
        if actions.limitedByMemory, memoryLimited.insert(revision).inserted {
            logger.warning(
                "not enough memory for more instances",
                metadata: ["revision": "\(revision)", "wanted": "\(scaler.desired)", "running": "\(current.count)"])
        } else if !actions.limitedByMemory, actions.start > 0 {
            memoryLimited.remove(revision)
        }
        for _ in 0..<actions.start { create(runnable) }
        for id in actions.stop { supervised[id]?.stopRequested = true }
    }

    /// Publishes every active revision (even at zero, so its requests queue for it) and every
    /// revision that still has instances, then the service's routing keys in one step: the
    /// difference between the ``ServiceRoutes`` wanted now and those published last.
    func publishRoutes() {
        for name in Set(desired.keys).union(published.keys) {
            let before = published[name] ?? ServiceRoutes()
            var after = ServiceRoutes()
            if desired[name] != nil {
                let instances = supervised.values.filter { $0.instance.service == name }.map { entry in
                    ServiceRoutes.Instance(
                        revision: entry.instance.revision,
                        backend: entry.instance.state.isServing && !entry.stopRequested
                            ? backend(for: entry.instance) : nil)
                }
                after = ServiceRoutes(
                    service: name, active: activeRevisions(of: name).map { ($0.revision.name, $0.revision.spec) },
                    traffic: resolvedTraffic(of: name), instances: instances, previous: before)
            }
            routing.apply(ServiceRoutes.changes(service: name.rawValue, from: before, to: after))
            published[name] = desired[name] == nil ? nil : after
        }
    }

    private func backend(for instance: Instance) -> Backend? {
        guard let address = instance.address, let colon = address.lastIndex(of: ":"),
            let port = Int(address[address.index(after: colon)...])
        else { return nil }
        return Backend(id: instance.id, host: String(address[..<colon]), port: port)
    }

    private func create(_ runnable: Runnable) {
        let id = "\(runnable.revision.name)-\(Self.randomSuffix())"
        supervised[id] = Supervised(
            instance: Instance(
                id: id, service: runnable.revision.service, revision: runnable.revision.name, state: .starting))
        jobsContinuation.yield(Launch(id: id))
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

    func isKnown(_ service: ServiceName) -> Bool { desired[service] != nil }

    func isLatest(_ revision: Revision) -> Bool { desired[revision.service]?.revision.name == revision.name }

    func readyRevision(of service: ServiceName) -> String? { latestReady[service] }

    /// (service, revision) of every active revision.
    var activeRevisions: [(service: String, revision: String)] {
        desired.keys.flatMap { name in activeRevisions(of: name).map { (name.rawValue, $0.revision.name) } }
    }

    /// The revision named `revision` of any service, if it may run.
    func runnable(_ revision: String) -> Runnable? {
        desired.values.lazy.compactMap { $0.runnable(revision) }.first
    }

    /// How long an instance of `revision` may idle before it is frozen; nil never freezes
    /// (revisions being retired, or `freezeAfter` 0).
    func freezeAfter(of revision: String) -> Duration? {
        guard scalers[revision] != nil, let runnable = runnable(revision) else { return nil }
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
            let runnable = desired[entry.instance.service]?.runnable(entry.instance.revision)
        else { return nil }
        return InstanceSpec.make(id: id, revision: runnable.revision, image: runnable.image)
    }

    /// Hands an adopted instance to a supervisor of its own.
    func launch(adopted: StartedInstance) { jobsContinuation.yield(Launch(id: adopted.id, adopted: adopted)) }

    /// Asks for a reconcile pass now rather than at the next resync.
    public func requestReconcile() { wake() }
}
