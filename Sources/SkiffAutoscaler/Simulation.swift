import SkiffBalancing
public import SkiffModel

/// One request of a trace: when it arrives and how long an instance takes to answer it.
public struct TraceRequest: Sendable, Hashable {
    /// Offset from the revision's creation, which is the simulation's time zero.
    public var arrival: Duration
    /// Time the instance spends on the request, from the moment it starts on the instance.
    public var duration: Duration

    public init(arrival: Duration, duration: Duration) {
        self.arrival = arrival
        self.duration = duration
    }
}

/// Replays a request trace through the server's own decisions on a simulated clock, so
/// scaling settings can be judged before traffic pays for them: the scaler
/// (``RevisionScaler``) and the controller's ``RevisionReconciler`` from this module, the
/// gateway's balancer pick and activator queue from SkiffBalancing. Nothing here restates
/// one of their rules; what is modelled is only what those decisions act on.
///
/// One revision is modelled the way the gateway and the controller treat it:
///
/// - The revision is created at time zero and starts its initial instances; an instance
///   takes requests `coldStart` after it was started.
/// - A request goes where the gateway's `Balancer` sends it: the ready instance with the
///   fewest in flight under `concurrency` (0: unlimited), ties broken by a seeded
///   ``TieBreaker`` as each gateway loop breaks them. When none can take it, it waits in the
///   activator's queue of `queueDepth` requests (full: 429), for at most the response-start
///   timeout (then 504), and the activator wakes the scaler (``RevisionScaler/demand(at:)``);
///   freed capacity and new instances serve the queue oldest first.
/// - Every second the scaler records the revision's concurrency (in flight plus queued) and
///   every ``RevisionScaler/tickInterval`` it decides; the reconciler turns the decision
///   into instances to start and stop. A stopped busy instance takes no new requests and
///   goes once its requests finish.
/// - An instance idle for `freezeAfter` is frozen; a request sent to it waits `thaw` first.
///   On a scale to zero the ready instances stay for `frozenRetention` (frozen by then, as
///   idle instances are) and still take requests; the next tick that wants instances keeps
///   them.
///
/// The server samples concurrency every ``RevisionScaler/sampleInterval``; the simulation
/// records the exact time-weighted mean of each second instead, which is what those
/// samples estimate, and which does not alias with a periodic trace.
///
/// Deterministic: no clock, and the tie-breaker's seed is fixed. Events run from a priority
/// queue, so a trace of n requests takes O(n log n) time plus a scan of the ready instances
/// per request, and a little per simulated second while instances exist (idle stretches
/// without any are skipped).
public struct Simulation: Sendable {
    /// What is simulated besides the scaling settings.
    public struct Configuration: Sendable, Hashable {
        /// The revision's scaling settings, as deployed.
        public var scaling: ScalingSpec
        /// Longest time a request may wait in the queue; zero waits without limit.
        public var responseStartTimeout: Duration
        /// From starting an instance to its taking requests (image, runc, the app's startup).
        public var coldStart: Duration
        /// Extra wait of a request sent to a frozen instance (the cgroup freezer: well under
        /// a millisecond on the machines Skiff was measured on).
        public var thaw: Duration

        public init(
            scaling: ScalingSpec = ScalingSpec(), responseStartTimeout: Duration = .zero,
            coldStart: Duration = .milliseconds(300), thaw: Duration = .milliseconds(1)
        ) {
            self.scaling = scaling
            self.responseStartTimeout = responseStartTimeout
            self.coldStart = coldStart
            self.thaw = thaw
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Runs `trace` (in any order) from time zero until its last request finished and the
    /// revision settled at its minimum: scaled down, frozen retention over.
    public func run(_ trace: [TraceRequest]) -> SimulationReport {
        var requests = trace.map {
            TraceRequest(arrival: max(.zero, $0.arrival), duration: max(.zero, $0.duration))
        }
        if zip(requests, requests.dropFirst()).contains(where: { $0.arrival > $1.arrival }) {
            requests.sort { $0.arrival < $1.arrival }
        }
        var run = SimulationRun(configuration: configuration, trace: requests)
        return run.run()
    }
}

/// What a ``Simulation`` saw: the revision at every tick, and totals over the trace.
public struct SimulationReport: Sendable, Hashable {
    /// The revision right after one of the scaler's ticks.
    public struct Tick: Sendable, Hashable {
        public var time: Duration
        /// The instance count the scaler asked for.
        public var desired: Int
        /// Instances taking requests, frozen ones included (as the scaler counts them).
        public var ready: Int
        /// Instances started and not ready yet.
        public var starting: Int
        /// Ready instances that are frozen.
        public var frozen: Int
        public var inFlight: Int
        public var queued: Int
        public var stableConcurrency: Double
        public var panicConcurrency: Double
        public var inPanic: Bool

        public init(
            time: Duration, desired: Int, ready: Int, starting: Int, frozen: Int, inFlight: Int, queued: Int,
            stableConcurrency: Double, panicConcurrency: Double, inPanic: Bool
        ) {
            self.time = time
            self.desired = desired
            self.ready = ready
            self.starting = starting
            self.frozen = frozen
            self.inFlight = inFlight
            self.queued = queued
            self.stableConcurrency = stableConcurrency
            self.panicConcurrency = panicConcurrency
            self.inPanic = inPanic
        }
    }

    /// Percentiles (nearest rank) of the time requests waited before they started on an
    /// instance: queued for capacity or a start, and thawing.
    public struct Delays: Sendable, Hashable {
        public var p50: Duration = .zero
        public var p90: Duration = .zero
        public var p99: Duration = .zero
        public var max: Duration = .zero

        public init(p50: Duration = .zero, p90: Duration = .zero, p99: Duration = .zero, max: Duration = .zero) {
            self.p50 = p50
            self.p90 = p90
            self.p99 = p99
            self.max = max
        }
    }

    /// One row per tick while anything happened; a stretch with no instance, no request
    /// and nothing to decide has none.
    public var timeline: [Tick] = []
    public var requests = 0
    /// Requests that started on an instance (and finished: nothing is cut short).
    public var served = 0
    /// Requests refused at once: the queue was full (the gateway's 429), or the revision
    /// has none (`queueDepth` 0: 503).
    public var rejected = 0
    /// Requests that waited in the queue longer than the response-start timeout (504).
    public var timedOut = 0
    /// Served requests that waited for an instance to start: they went to it the moment it
    /// became ready.
    public var coldStarts = 0
    /// Served requests that thawed a frozen instance.
    public var thawStarts = 0
    /// Instances started, the initial ones included.
    public var instanceStarts = 0
    /// Over served requests.
    public var queueDelay = Delays()
    /// Instance time not frozen (starting, serving, idle), from start to removal.
    public var runningTime: Duration = .zero
    /// Instance time frozen: memory kept, no CPU.
    public var frozenTime: Duration = .zero
    /// Most instances that existed at once, in any state.
    public var peakInstances = 0
    /// When the simulation ended: the tick at which the revision settled.
    public var end: Duration = .zero
}

// MARK: - The run

/// One simulated instance, as the balancer sees it (``BalancedInstance``) and as the
/// simulation accounts for it.
private final class SimulatedInstance: BalancedInstance {
    enum State { case starting, ready, draining, removed }

    let id: Int
    let startedAt: Duration
    var state = State.starting
    var inFlight = 0
    /// When it freezes (or froze) if it stays idle; nil while busy or when it never does.
    var freezesAt: Duration?
    /// The end of a thaw in progress: requests start no sooner.
    var thawedAt: Duration = .zero
    var frozenTime: Duration = .zero
    /// Index in `live` until it is removed.
    var liveIndex = 0

    init(id: Int, startedAt: Duration) {
        self.id = id
        self.startedAt = startedAt
    }

    func isFrozen(at now: Duration) -> Bool {
        state == .ready && inFlight == 0 && freezesAt.map { $0 <= now } ?? false
    }

    // MARK: BalancedInstance

    var currentLoad: Int { inFlight }
    /// Draining instances left the routing table, as in the gateway.
    var isRetired: Bool { state != .ready }

    func tryAcquire(limit: Int) -> Bool {
        guard limit == 0 || inFlight < limit else { return false }
        inFlight += 1
        return true
    }
}

/// The mutable state of one ``Simulation/run(_:)``.
private struct SimulationRun {
    typealias Instance = SimulatedInstance

    /// What happens at a time; at one instant, lower ranks go first: freed capacity and new
    /// instances serve the queue before new arrivals, and a request is timed out only once
    /// nothing at that instant could take it.
    enum Step: Int, Comparable {
        case completion, instanceReady, arrival, timeout, retentionEnd, second, tick

        static func < (lhs: Step, rhs: Step) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    struct Event: Comparable {
        var time: Duration
        var step: Step
        var instance: Int
        var sequence: Int

        static func < (lhs: Event, rhs: Event) -> Bool {
            if lhs.time != rhs.time { return lhs.time < rhs.time }
            if lhs.step != rhs.step { return lhs.step < rhs.step }
            return lhs.sequence < rhs.sequence
        }
    }

    static let second: Duration = .seconds(1)
    /// Longer than the window, the delays and the retention the spec allows, together.
    static let longestTail: Duration = .seconds(48 * 3600)

    let configuration: Configuration
    let scaling: ScalingSpec
    let trace: [TraceRequest]
    let lastArrival: Duration
    var scaler: RevisionScaler
    var reconciler: RevisionReconciler
    /// The gateway's queue for the revision and the ready instances it serves (the routing
    /// table's, in the order they became ready); its waiters are indices into `trace`.
    var activator: ActivatorStateMachine<Int, Instance>
    /// Seeds of the balancer's pick for arriving requests, as each gateway loop draws them.
    var tieBreaker = TieBreaker(seed: 1)
    var report = SimulationReport()

    var instances: [Instance] = []
    /// Ids of the instances not removed yet.
    var live: [Int] = []
    var events = MinHeap<Event>()
    var sequence = 0
    var nextArrival = 0
    var inFlight = 0
    var delays: [Duration] = []

    var nextSecond = second
    var nextTick = RevisionScaler.tickInterval
    /// Concurrency × seconds within the current second, up to `lastChange`: the second's
    /// mean concurrency once it is over.
    var area = 0.0
    var lastChange: Duration = .zero

    typealias Configuration = Simulation.Configuration

    init(configuration: Configuration, trace: [TraceRequest]) {
        self.configuration = configuration
        self.scaling = configuration.scaling
        self.trace = trace
        self.lastArrival = trace.last?.arrival ?? .zero
        self.scaler = RevisionScaler(spec: configuration.scaling, now: .zero)
        self.reconciler = RevisionReconciler(spec: configuration.scaling)
        self.activator = ActivatorStateMachine(
            concurrency: configuration.scaling.concurrency, queueDepth: configuration.scaling.queueDepth)
        report.requests = trace.count
    }

    mutating func run() -> SimulationReport {
        reconcile(now: .zero)
        while true {
            var time = nextSecond
            var step = Step.second
            func earlier(_ other: Duration, _ otherStep: Step) -> Bool {
                other < time || other == time && otherStep < step
            }
            if earlier(nextTick, .tick) { (time, step) = (nextTick, .tick) }
            if let oldest = activator.oldest, configuration.responseStartTimeout > .zero {
                let deadline = trace[oldest.waiter].arrival + configuration.responseStartTimeout
                if earlier(deadline, .timeout) { (time, step) = (deadline, .timeout) }
            }
            if nextArrival < trace.count, earlier(trace[nextArrival].arrival, .arrival) {
                (time, step) = (trace[nextArrival].arrival, .arrival)
            }
            if let next = events.first, earlier(next.time, next.step) {
                let event = events.removeFirst()
                accumulate(to: event.time)
                switch event.step {
                case .completion: complete(on: event.instance, now: event.time)
                case .instanceReady: becomeReady(event.instance, now: event.time)
                case .retentionEnd: endRetention(now: event.time)
                case .arrival, .timeout, .second, .tick: break
                }
                continue
            }
            accumulate(to: time)
            switch step {
            case .completion, .instanceReady, .retentionEnd: break
            case .arrival: arrive(now: time)
            case .timeout:
                if let oldest = activator.oldest, activator.leave(oldest.ticket) { report.timedOut += 1 }
            case .second:
                scaler.record(concurrency: area, at: time)
                area = 0
                nextSecond = time + Self.second
            case .tick:
                nextTick = time + RevisionScaler.tickInterval
                if tick(now: time) { return finish(at: time) }
            }
        }
    }

    // MARK: Requests

    /// The gateway's admission: the balancer's pick on the ready instances, else the
    /// activator's queue, which wakes the scaler.
    mutating func arrive(now: Duration) {
        let request = nextArrival
        nextArrival += 1
        if let instance = Balancer.acquireLeastLoaded(
            activator.instances, limit: scaling.concurrency, seed: tieBreaker.next())
        {
            dispatch(request, to: instance, now: now, coldStart: false)
            return
        }
        switch activator.enqueue(request, key: "") {
        case .queued:
            if scaler.demand(at: now) { reconcile(now: now) }
        case .refused:
            report.rejected += 1
        }
    }

    /// Starts `request` on `instance`, whose capacity the balancer took for it.
    mutating func dispatch(_ request: Int, to instance: Instance, now: Duration, coldStart: Bool) {
        var start = max(now, instance.thawedAt)
        // Its first request since it was idle (the pick already counted this one).
        if instance.inFlight == 1 {
            if let freezesAt = instance.freezesAt, freezesAt <= now {
                instance.frozenTime += now - freezesAt
                start = now + configuration.thaw
                instance.thawedAt = start
                report.thawStarts += 1
            }
            instance.freezesAt = nil
        }
        if coldStart { report.coldStarts += 1 }
        inFlight += 1
        report.served += 1
        delays.append(start - trace[request].arrival)
        schedule(.completion, at: start + trace[request].duration, instance: instance.id)
    }

    /// Requests the activator hands an instance, oldest first.
    mutating func dispatch(_ handOffs: ActivatorStateMachine<Int, Instance>.HandOffs, now: Duration, started: Int?) {
        for handOff in handOffs {
            guard let instance = handOff.instance else { continue }
            dispatch(handOff.waiter, to: instance, now: now, coldStart: instance.id == started)
        }
    }

    mutating func complete(on id: Int, now: Duration) {
        let instance = instances[id]
        inFlight -= 1
        instance.inFlight -= 1
        switch instance.state {
        case .draining:
            if instance.inFlight == 0 { remove(id, now: now) }
        case .ready:
            if instance.inFlight == 0 { becomeIdle(id, now: now) }
            if activator.waiting > 0 { dispatch(activator.capacityFreed(), now: now, started: nil) }
        case .starting, .removed:
            break
        }
    }

    // MARK: Instances

    mutating func start(now: Duration) {
        let id = instances.count
        let instance = Instance(id: id, startedAt: now)
        instance.liveIndex = live.count
        instances.append(instance)
        live.append(id)
        report.instanceStarts += 1
        report.peakInstances = max(report.peakInstances, live.count)
        schedule(.instanceReady, at: now + configuration.coldStart, instance: id)
    }

    mutating func becomeReady(_ id: Int, now: Duration) {
        guard instances[id].state == .starting else { return }
        instances[id].state = .ready
        becomeIdle(id, now: now)
        dispatch(activator.setInstances(activator.instances + [instances[id]]), now: now, started: id)
    }

    mutating func becomeIdle(_ id: Int, now: Duration) {
        let freezeAfter = scaling.freezeAfter.duration
        instances[id].freezesAt = freezeAfter > .zero ? now + freezeAfter : nil
    }

    /// Takes no new requests; goes when its last one finishes.
    mutating func drain(_ id: Int, now: Duration) {
        if instances[id].inFlight == 0 {
            remove(id, now: now)
        } else {
            instances[id].state = .draining
            leaveRouting(id, now: now)
        }
    }

    mutating func remove(_ id: Int, now: Duration) {
        let instance = instances[id]
        if instance.inFlight == 0, let freezesAt = instance.freezesAt, freezesAt < now, instance.state == .ready {
            instance.frozenTime += now - freezesAt
        }
        report.frozenTime += instance.frozenTime
        report.runningTime += (now - instance.startedAt) - instance.frozenTime
        instance.state = .removed
        leaveRouting(id, now: now)
        let last = live.removeLast()
        if last != id {
            live[instance.liveIndex] = last
            instances[last].liveIndex = instance.liveIndex
        }
    }

    /// The instance leaves the routing table, as the controller's publication makes it.
    mutating func leaveRouting(_ id: Int, now: Duration) {
        guard activator.instances.contains(where: { $0.id == id }) else { return }
        dispatch(activator.setInstances(activator.instances.filter { $0.id != id }), now: now, started: nil)
    }

    /// The revision's retention after a scale to zero is over: its instances go, unless a
    /// later decision kept them.
    mutating func endRetention(now: Duration) {
        guard reconciler.retainedUntil == now else { return }
        reconcile(now: now)
    }

    /// Brings the instances to the scaler's desire with the controller's own
    /// ``RevisionReconciler``: a stopped ready instance drains, one still starting goes at once.
    mutating func reconcile(now: Duration) {
        // In start order, so that of two started at once the later counts as the newer.
        let current = live.filter { instances[$0].state == .starting || instances[$0].state == .ready }.sorted()
        let views = current.map { id in
            RevisionReconciler.Instance(
                id: id, serving: instances[id].state == .ready, inFlight: instances[id].inFlight,
                startedAt: instances[id].startedAt)
        }
        let retainedBefore = reconciler.retainedUntil
        let actions = reconciler.reconcile(desired: scaler.desired, instances: views, now: now)
        if let until = reconciler.retainedUntil, until != retainedBefore {
            schedule(.retentionEnd, at: until, instance: -1)
        }
        for _ in 0..<actions.start { start(now: now) }
        for id in actions.stop {
            if instances[id].state == .ready { drain(id, now: now) } else { remove(id, now: now) }
        }
    }

    // MARK: Ticks

    struct Census {
        var ready = 0
        var starting = 0
        var frozen = 0
        var draining = 0
        var retained = 0
    }

    func census(now: Duration) -> Census {
        var census = Census()
        for id in live {
            switch instances[id].state {
            case .starting: census.starting += 1
            case .ready:
                census.ready += 1
                if reconciler.retainedUntil != nil { census.retained += 1 }
                if instances[id].isFrozen(at: now) { census.frozen += 1 }
            case .draining: census.draining += 1
            case .removed: break
            }
        }
        return census
    }

    /// The scaler's periodic decision; returns whether the simulation is over.
    mutating func tick(now: Duration) -> Bool {
        let decision = scaler.tick(now: now, readyInstances: census(now: now).ready)
        reconcile(now: now)
        let after = census(now: now)
        report.timeline.append(
            SimulationReport.Tick(
                time: now, desired: scaler.desired, ready: after.ready, starting: after.starting, frozen: after.frozen,
                inFlight: inFlight, queued: activator.waiting, stableConcurrency: decision.stableConcurrency,
                panicConcurrency: decision.panicConcurrency, inPanic: decision.inPanic))

        let quiet =
            activator.waiting == 0 && inFlight == 0 && !decision.inPanic && decision.stableConcurrency == 0
            && decision.panicConcurrency == 0 && after.starting == 0 && after.draining == 0 && after.retained == 0
        guard quiet else { return false }
        if nextArrival == trace.count {
            var floor = scaler.settings.minInstances
            if scaler.settings.maxInstances > 0 { floor = min(floor, scaler.settings.maxInstances) }
            // Settled at the minimum, or (a safeguard) long past anything the settings delay.
            return scaler.desired == floor && live.count == floor || now > lastArrival + Self.longestTail
        }
        // Nothing runs and nothing will be decided until the next request: jump to it.
        // (Events left are stale: instances removed before they were ready or retained.)
        if live.isEmpty, scaler.desired == 0 {
            let second = trace[nextArrival].arrival.components.seconds
            let tick = RevisionScaler.tickInterval.components.seconds
            let resume = Duration.seconds((second + tick - 1) / tick * tick)
            if resume > nextTick {
                nextTick = resume
                nextSecond = .seconds(second + 1)
                lastChange = .seconds(second)
                area = 0
            }
        }
        return false
    }

    mutating func finish(at end: Duration) -> SimulationReport {
        for id in live.reversed() { remove(id, now: end) }
        report.end = end
        delays.sort()
        if let max = delays.last {
            func percentile(_ permille: Int) -> Duration {
                delays[Swift.max(0, (permille * delays.count + 999) / 1000 - 1)]
            }
            report.queueDelay = .init(p50: percentile(500), p90: percentile(900), p99: percentile(990), max: max)
        }
        return report
    }

    // MARK: Plumbing

    mutating func accumulate(to now: Duration) {
        guard now > lastChange else { return }
        let concurrency = inFlight + activator.waiting
        if concurrency > 0 {
            let (seconds, attoseconds) = (now - lastChange).components
            area += Double(concurrency) * (Double(seconds) + Double(attoseconds) / 1e18)
        }
        lastChange = now
    }

    mutating func schedule(_ step: Step, at time: Duration, instance: Int) {
        sequence += 1
        events.insert(Event(time: time, step: step, instance: instance, sequence: sequence))
    }
}

/// A binary min-heap.
private struct MinHeap<Element: Comparable> {
    private var elements: [Element] = []

    var isEmpty: Bool { elements.isEmpty }
    var first: Element? { elements.first }

    mutating func insert(_ element: Element) {
        elements.append(element)
        var index = elements.count - 1
        while index > 0 {
            let parent = (index - 1) / 2
            guard elements[index] < elements[parent] else { return }
            elements.swapAt(index, parent)
            index = parent
        }
    }

    /// Requires a non-empty heap.
    mutating func removeFirst() -> Element {
        let first = elements[0]
        let last = elements.removeLast()
        guard !elements.isEmpty else { return first }
        elements[0] = last
        var index = 0
        while true {
            let left = 2 * index + 1
            guard left < elements.count else { break }
            let right = left + 1
            let child = right < elements.count && elements[right] < elements[left] ? right : left
            guard elements[child] < elements[index] else { break }
            elements.swapAt(index, child)
            index = child
        }
        return first
    }
}
