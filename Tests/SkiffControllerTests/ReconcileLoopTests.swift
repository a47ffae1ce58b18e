import Logging
import SkiffController
import SkiffGateway
import SkiffRuntime
import SkiffTestSupport
import Testing

@Suite struct ReconcileLoopTests {
    /// A runtime with nothing to run: these tests watch the reconcile loop itself.
    private static func idleRuntime() -> FakeRuntime {
        FakeRuntime(startError: RuntimeError(.runtime, "not available in reconcile loop tests"))
    }

    private func withController(
        resyncInterval: Duration,
        runtime: any ContainerRuntime = idleRuntime(),
        logMaintenanceInterval: Duration = .seconds(30),
        _ body: @Sendable (Controller) async throws -> Void
    ) async throws {
        let state = try StoredState()
        defer { state.remove() }
        var configuration = Controller.Configuration()
        configuration.resyncInterval = resyncInterval
        configuration.logMaintenanceInterval = logMaintenanceInterval
        let controller = Controller(
            configuration: configuration, store: state.store, resolver: state.resolver, runtime: runtime,
            routing: RoutingTable(), logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await controller.run() }
            defer { group.cancelAll() }
            try await Self.poll("the first reconcile pass") { await controller.reconcilePasses >= 1 }
            try await body(controller)
        }
    }

    private static func poll(_ what: String, until condition: @Sendable () async -> Bool) async throws {
        // Generous: at the start of a full run every suite competes for two cores.
        let deadline = ContinuousClock.now + .seconds(60)
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The loop must sleep between resyncs. A wakeup stream broken by a cancelled wait once
    /// made it spin, thousands of passes a second, a core gone at idle.
    @Test func idleLoopRunsOncePerResyncNotContinuously() async throws {
        try await withController(resyncInterval: .milliseconds(50)) { controller in
            let first = await controller.reconcilePasses
            try await Self.poll("the resync ticker to fire") { await controller.reconcilePasses > first }
            let before = await controller.reconcilePasses
            // A window to count in, not a synchronisation: 500 ms holds about 10 resyncs, and
            // only an upper bound is checked, which a slow machine cannot break.
            try await Task.sleep(for: .milliseconds(500))
            let passes = await controller.reconcilePasses - before
            #expect(passes <= 40, "\(passes) reconcile passes in 500 ms with nothing to do")
        }
    }

    /// Instance logs are kept in bounds by the controller's own loop, which knows what runs.
    @Test func instanceLogsAreMaintainedOnEveryInterval() async throws {
        let runtime = Self.idleRuntime()
        try await withController(
            resyncInterval: .seconds(3600), runtime: runtime, logMaintenanceInterval: .milliseconds(20)
        ) { _ in
            try await Self.poll("two log maintenance passes") { runtime.state.logMaintenancePasses.count >= 2 }
            let passes = runtime.state.logMaintenancePasses
            #expect(passes.allSatisfy { $0.isEmpty }, "nothing runs, so nothing is live")
        }
    }

    @Test func aRequestedReconcileRunsWithoutWaitingForTheResync() async throws {
        try await withController(resyncInterval: .seconds(3600)) { controller in
            for _ in 0..<3 {
                let before = await controller.reconcilePasses
                await controller.requestReconcile()
                try await Self.poll("a requested pass") { await controller.reconcilePasses > before }
            }
        }
    }
}
