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

/// Replays a request trace through ``RevisionScaler`` — the scaler the server runs — on a
/// simulated clock, so scaling settings can be judged before traffic pays for them.
///
/// One revision is modelled the way the gateway and the controller treat it:
///
/// - The revision is created at time zero and starts its initial instances; an instance
///   takes requests `coldStart` after it was started.
/// - An instance serves at most `concurrency` requests at once (0: unlimited). A request
///   goes to the ready instance with the fewest in flight (among idle ones, the one idle
///   the shortest, which is the least likely to be frozen). When none can take it, it waits
///   in a FIFO queue of `queueDepth` requests (full: 429), for at most the response-start
///   timeout (then 504), and the activator wakes the scaler (``RevisionScaler/demand(at:)``).
/// - Every second the scaler records the revision's concurrency (in flight plus queued) and
///   every ``RevisionScaler/tickInterval`` it decides; the instance count follows the
///   decision. Surplus instances go not-ready before ready, then the least busy, newest
///   first; a busy one takes no new requests and goes once its requests finish.
/// - An instance idle for `freezeAfter` is frozen; a request sent to it waits `thaw` first.
///   On a scale to zero the ready instances stay for `frozenRetention` (frozen by then, as
///   idle instances are) and still take requests; the next tick that wants instances keeps
///   them.
///
/// The server samples concurrency every ``RevisionScaler/sampleInterval``; the simulation
/// records the exact time-weighted mean of each second instead, which is what those
/// samples estimate, and which does not alias with a periodic trace.
///
/// Deterministic: no clock, no randomness. Events run from a priority queue, so a trace of
/// n requests takes O(n log n) time, plus a little per simulated second while instances
/// exist (idle stretches without any are skipped).
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
    /// Requests refused because the queue was full (the gateway's 429).
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

/// The mutable state of one ``Simulation/run(_:)``.
private struct SimulationRun {
    struct Instance {
        enum State { case starting, ready, draining, removed }

        let startedAt: Duration
        var state = State.starting
        var inFlight = 0
        /// When it last became idle; orders idle instances for dispatch.
        var idleSince: Duration = .zero
        /// When it freezes (or froze) if it stays idle; nil while busy or when it never does.
        var freezesAt: Duration?
        /// The end of a thaw in progress: requests start no sooner.
        var thawedAt: Duration = .zero
        var frozenTime: Duration = .zero
        /// Index in `dispatchable` while the instance takes requests.
        var heapIndex: Int?
        /// Index in `live` until it is removed.
        var liveIndex = 0

        init(startedAt: Duration) {
            self.startedAt = startedAt
        }

        func isFrozen(at now: Duration) -> Bool {
            state == .ready && inFlight == 0 && freezesAt.map { $0 <= now } ?? false
        }
    }

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
    var report = SimulationReport()

    var instances: [Instance] = []
    /// Ids of the instances not removed yet.
    var live: [Int] = []
    /// Min-heap of the instances taking requests, least loaded first.
    var dispatchable: [Int] = []
    var events = MinHeap<Event>()
    var sequence = 0
    /// Indices into `trace`, oldest first.
    var queue = FIFO()
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
            if let first = queue.first, configuration.responseStartTimeout > .zero {
                let deadline = trace[first].arrival + configuration.responseStartTimeout
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
                queue.removeFirst()
                report.timedOut += 1
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

    mutating func arrive(now: Duration) {
        let request = nextArrival
        nextArrival += 1
        if let instance = Self.leastLoaded(dispatchable, instances, concurrency: scaling.concurrency) {
            dispatch(request, to: instance, now: now, coldStart: false)
        } else if queue.count < scaling.queueDepth {
            queue.append(request)
            if scaler.demand(at: now) { reconcile(now: now) }
        } else {
            report.rejected += 1
        }
    }

    /// The instance a request goes to, if any can take one more.
    static func leastLoaded(_ dispatchable: [Int], _ instances: [Instance], concurrency: Int) -> Int? {
        guard let first = dispatchable.first else { return nil }
        guard concurrency == 0 || instances[first].inFlight < concurrency else { return nil }
        return first
    }

    mutating func dispatch(_ request: Int, to id: Int, now: Duration, coldStart: Bool) {
        var start = max(now, instances[id].thawedAt)
        if instances[id].inFlight == 0 {
            if let freezesAt = instances[id].freezesAt, freezesAt <= now {
                instances[id].frozenTime += now - freezesAt
                start = now + configuration.thaw
                instances[id].thawedAt = start
                report.thawStarts += 1
            }
            instances[id].freezesAt = nil
        }
        if coldStart { report.coldStarts += 1 }
        instances[id].inFlight += 1
        inFlight += 1
        report.served += 1
        delays.append(start - trace[request].arrival)
        schedule(.completion, at: start + trace[request].duration, instance: id)
        heapify(id)
    }

    /// Hands capacity to queued requests, oldest first.
    mutating func serveQueue(now: Duration, started: Int? = nil) {
        while queue.first != nil, let id = Self.leastLoaded(dispatchable, instances, concurrency: scaling.concurrency) {
            dispatch(queue.removeFirst(), to: id, now: now, coldStart: id == started)
        }
    }

    mutating func complete(on id: Int, now: Duration) {
        inFlight -= 1
        instances[id].inFlight -= 1
        switch instances[id].state {
        case .draining:
            if instances[id].inFlight == 0 { remove(id, now: now) }
        case .ready:
            if instances[id].inFlight == 0 { becomeIdle(id, now: now) }
            heapify(id)
            serveQueue(now: now)
        case .starting, .removed:
            break
        }
    }

    // MARK: Instances

    mutating func start(now: Duration) {
        let id = instances.count
        var instance = Instance(startedAt: now)
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
        heapInsert(id)
        serveQueue(now: now, started: id)
    }

    mutating func becomeIdle(_ id: Int, now: Duration) {
        instances[id].idleSince = now
        let freezeAfter = scaling.freezeAfter.duration
        instances[id].freezesAt = freezeAfter > .zero ? now + freezeAfter : nil
    }

    /// Takes no new requests; goes when its last one finishes.
    mutating func drain(_ id: Int, now: Duration) {
        if instances[id].inFlight == 0 {
            remove(id, now: now)
        } else {
            instances[id].state = .draining
            heapRemove(id)
        }
    }

    mutating func remove(_ id: Int, now: Duration) {
        var instance = instances[id]
        if instance.inFlight == 0, let freezesAt = instance.freezesAt, freezesAt < now, instance.state == .ready {
            instance.frozenTime += now - freezesAt
        }
        report.frozenTime += instance.frozenTime
        report.runningTime += (now - instance.startedAt) - instance.frozenTime
        instance.state = .removed
        instances[id] = instance
        heapRemove(id)
        let last = live.removeLast()
        if last != id {
            live[instance.liveIndex] = last
            instances[last].liveIndex = instance.liveIndex
        }
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
                inFlight: inFlight, queued: queue.count, stableConcurrency: decision.stableConcurrency,
                panicConcurrency: decision.panicConcurrency, inPanic: decision.inPanic))

        let quiet =
            queue.isEmpty && inFlight == 0 && !decision.inPanic && decision.stableConcurrency == 0
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
        let concurrency = inFlight + queue.count
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

    /// Dispatch order: fewer in flight first; among idle instances, the one idle the
    /// shortest; then the oldest.
    static func precedes(_ a: Int, _ b: Int, in instances: [Instance]) -> Bool {
        let (load, other) = (instances[a].inFlight, instances[b].inFlight)
        if load != other { return load < other }
        if load == 0, instances[a].idleSince != instances[b].idleSince {
            return instances[a].idleSince > instances[b].idleSince
        }
        return a < b
    }

    mutating func heapInsert(_ id: Int) {
        instances[id].heapIndex = dispatchable.count
        dispatchable.append(id)
        siftUp(dispatchable.count - 1)
    }

    mutating func heapRemove(_ id: Int) {
        guard let index = instances[id].heapIndex else { return }
        instances[id].heapIndex = nil
        let last = dispatchable.removeLast()
        guard index < dispatchable.count else { return }
        dispatchable[index] = last
        instances[last].heapIndex = index
        siftUp(index)
        heapify(last)
    }

    /// Restores the heap order around `id` after its load changed.
    mutating func heapify(_ id: Int) {
        guard let index = instances[id].heapIndex else { return }
        siftUp(index)
        if let index = instances[id].heapIndex { siftDown(index) }
    }

    mutating func siftUp(_ start: Int) {
        var index = start
        while index > 0 {
            let parent = (index - 1) / 2
            guard Self.precedes(dispatchable[index], dispatchable[parent], in: instances) else { return }
            swapInHeap(index, parent)
            index = parent
        }
    }

    mutating func siftDown(_ start: Int) {
        var index = start
        while true {
            var best = index
            for child in (2 * index + 1)...(2 * index + 2) where child < dispatchable.count {
                if Self.precedes(dispatchable[child], dispatchable[best], in: instances) { best = child }
            }
            guard best != index else { return }
            swapInHeap(index, best)
            index = best
        }
    }

    mutating func swapInHeap(_ i: Int, _ j: Int) {
        dispatchable.swapAt(i, j)
        instances[dispatchable[i]].heapIndex = i
        instances[dispatchable[j]].heapIndex = j
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

/// A FIFO of indices with O(1) removal at the front.
private struct FIFO {
    private var items: [Int] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }
    var first: Int? { head < items.count ? items[head] : nil }

    mutating func append(_ item: Int) {
        items.append(item)
    }

    /// Requires a non-empty queue.
    @discardableResult
    mutating func removeFirst() -> Int {
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}
