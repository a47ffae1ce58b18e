import SkiffModel
import SkiffTestSupport
import Testing

@testable import SkiffController

/// A real controller's supervisors, driven tick by tick over a manual clock: restarts wait
/// exactly their backoff, a startup probe fails its revision exactly when its budget ends, an
/// idle instance freezes exactly `freezeAfter` after it was first seen idle.
@Suite struct SupervisionTickTests {
    @Test func aCrashedInstanceRestartsAfterEachBackoffDelayAndNotBefore() async throws {
        let runtime = FakeRuntime()
        runtime.update { $0.execStatus = 0 }
        try await TickedController.run(runtime: runtime) { rig in
            _ = try await rig.controller.deploy(name: "web", spec: rig.spec())
            try await rig.settle()
            let id = try #require(try await rig.instance(of: "web")).id
            #expect(try await rig.instance(of: "web")?.state == .ready)
            #expect(runtime.state.starts.count == 1)

            var backoff = RestartBackoff()
            for crash in 1...3 {
                runtime.update { _ = $0.running.remove(id) }
                // The supervisor notices at its next look at the process.
                let crashedAt = try await rig.advance(until: "crash \(crash) noticed", within: .seconds(1)) {
                    try await rig.instance(of: "web")?.restarts == crash
                }
                let delay = backoff.delay(afterRunning: .zero)
                try await rig.advance(by: delay - TickedController.step)
                #expect(runtime.state.starts.count == crash, "restarted before \(delay) after crash \(crash)")
                #expect(rig.now == crashedAt + delay - TickedController.step)
                try await rig.advance(by: TickedController.step)
                #expect(runtime.state.starts.count == crash + 1, "not restarted \(delay) after crash \(crash)")
                #expect(try await rig.instance(of: "web")?.state == .ready)
            }
        }
    }

    @Test func aStartupProbeThatNeverPassesFailsTheRevisionWhenItsBudgetEndsAndNotBefore() async throws {
        let runtime = FakeRuntime()
        runtime.update { $0.execStatus = 1 }
        let probe = Probe(exec: ExecAction(command: ["ready"]), periodSeconds: 1, failureThreshold: 3)
        try await TickedController.run(runtime: runtime) { rig in
            let startedAt = rig.now
            _ = try await rig.controller.deploy(name: "web", spec: rig.spec(startup: probe))
            try await rig.settle()
            try await rig.advance(by: probe.startupBudget - TickedController.step)
            #expect(try await rig.controller.service("web").latestRevisionFailure == nil)
            #expect(runtime.state.stops.isEmpty)

            try await rig.advance(by: TickedController.step)
            #expect(rig.now == startedAt + .seconds(3))
            let failure = try #require(try await rig.controller.service("web").latestRevisionFailure)
            #expect(failure.reason == .probe)
            #expect(runtime.state.stops.count >= 1)
            #expect(try await rig.controller.instances(of: "web").isEmpty, "a failed revision runs nothing")
            #expect(runtime.state.starts.count == 1)
        }
    }

    @Test func anIdleInstanceFreezesFreezeAfterItWasFirstSeenIdleAndNotBefore() async throws {
        let runtime = FakeRuntime()
        runtime.update {
            $0.execStatus = 0
            $0.canFreeze = true
        }
        try await TickedController.run(runtime: runtime) { rig in
            _ = try await rig.controller.deploy(name: "web", spec: rig.spec(freezeAfter: .seconds(1)))
            try await rig.settle()
            #expect(try await rig.instance(of: "web")?.state == .ready)
            // The scaling loop samples every 100 ms from the start: the first sample that sees
            // the ready instance, idle, is at 100 ms.
            try await rig.advance(by: .milliseconds(100) + .seconds(1) - TickedController.step)
            #expect(runtime.state.freezes.isEmpty)
            #expect(try await rig.instance(of: "web")?.state == .ready)

            try await rig.advance(by: TickedController.step)
            #expect(runtime.state.freezes.count == 1)
            #expect(try await rig.instance(of: "web")?.state == .frozen)
        }
    }

    @Test func anInstanceIsNotFrozenWhenItsRevisionDoesNotFreeze() async throws {
        let runtime = FakeRuntime()
        runtime.update {
            $0.execStatus = 0
            $0.canFreeze = true
        }
        try await TickedController.run(runtime: runtime) { rig in
            _ = try await rig.controller.deploy(name: "web", spec: rig.spec(freezeAfter: .zero))
            try await rig.advance(by: .seconds(5))
            #expect(runtime.state.freezes.isEmpty)
            #expect(try await rig.instance(of: "web")?.state == .ready)
        }
    }
}
