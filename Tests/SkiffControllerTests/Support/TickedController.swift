import Logging
import ServiceLifecycle
import SkiffController
import SkiffGateway
import SkiffModel
import SkiffRuntime
import SkiffTestSupport
import Synchronization
import Testing

/// A real ``Controller`` over a ``FakeRuntime`` and a ``ManualClock``, with one image loaded:
/// its supervisors, probes, restarts and freezing run only when the test moves the clock.
struct TickedController {
    /// The tasks that wait on the clock whatever runs: the resync ticker, the scaling loop and
    /// the log loop. Each supervised instance adds its supervisor.
    static let loops = 3
    /// Every wait of the controller falls on a multiple of this, so a test that moves the
    /// clock this far at a time sees every step it takes.
    static let step: Duration = .milliseconds(50)

    let controller: Controller
    let runtime: FakeRuntime
    let clock: ManualClock
    let routing: RoutingTable
    /// A reference to the loaded image, for a spec's `image`.
    let image: String

    /// Runs a controller for `body`, and stops it after.
    static func run(
        runtime: FakeRuntime, _ body: @Sendable (TickedController) async throws -> Void
    ) async throws {
        let state = try StoredState()
        defer { state.remove() }
        var configuration = Controller.Configuration()
        configuration.logMaintenanceInterval = .seconds(3600)
        let clock = ManualClock()
        let routing = RoutingTable()
        let controller = Controller(
            configuration: configuration, store: state.store, resolver: state.resolver, runtime: runtime,
            routing: routing, memory: MemoryGauge(read: { nil }), clock: clock, logger: Logger(label: "test"))
        let rig = TickedController(
            controller: controller, runtime: runtime, clock: clock, routing: routing, image: state.image)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [controller], logger: Logger(label: "test")))
        let stopped = Mutex(false)
        let running = Task {
            try await services.run()
            stopped.withLock { $0 = true }
        }
        let outcome: Result<Void, any Error>
        do {
            try await rig.settle()
            try await body(rig)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // A graceful shutdown stops every instance; their supervisors see it at their next tick.
        await services.triggerGracefulShutdown()
        let deadline = ContinuousClock.now + .seconds(30)
        while !stopped.withLock({ $0 }), ContinuousClock.now < deadline {
            clock.advance(by: step)
            await Task.yield()
        }
        if !stopped.withLock({ $0 }) {
            Issue.record("the controller did not stop")
            running.cancel()
        }
        try await running.value
        try outcome.get()
    }

    /// Returns once the controller is quiet: every loop and every supervisor waits on the
    /// clock again, so what they do at this instant is done.
    func settle() async throws {
        // A guard against a test that never settles, not a synchronisation: nothing here
        // waits for real time to pass.
        let deadline = ContinuousClock.now + .seconds(30)
        while clock.sleepers < Self.loops + (try await controller.instances().count) {
            guard ContinuousClock.now < deadline else {
                Issue.record("the controller did not settle at \(clock.now.offset)")
                return
            }
            await Task.yield()
        }
    }

    /// Moves the clock `duration` forward one ``step`` at a time, settling after each.
    func advance(by duration: Duration) async throws {
        var moved: Duration = .zero
        while moved < duration {
            clock.advance(by: Self.step)
            moved += Self.step
            try await settle()
        }
    }

    /// Steps the clock until `condition` holds, at most `limit` far; returns the time it held.
    func advance(
        until what: String, within limit: Duration, _ condition: () async throws -> Bool
    ) async throws -> Duration {
        var moved: Duration = .zero
        while try await !condition() {
            guard moved < limit else {
                Issue.record("\(what) did not happen within \(limit)")
                return now
            }
            try await advance(by: Self.step)
            moved += Self.step
        }
        return now
    }

    var now: Duration { clock.now.offset }

    /// The service's only instance.
    func instance(of service: ServiceName) async throws -> Instance? {
        try await controller.instances(of: service).first
    }

    /// A spec whose startup probe is a command, so the fake runtime's ``FakeRuntime/State/execStatus``
    /// decides it without a network.
    func spec(
        minInstances: Int = 1, startup: Probe = Probe(exec: ExecAction(command: ["ready"]), periodSeconds: 1),
        freezeAfter: Duration = .zero
    ) -> ServiceSpec {
        var scaling = ScalingSpec()
        scaling.freezeAfter = TimeSpan(freezeAfter)
        return ServiceSpec(image: image, minInstances: minInstances, scaling: scaling, probes: Probes(startup: startup))
    }
}
