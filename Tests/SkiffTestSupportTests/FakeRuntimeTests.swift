import SkiffRuntime
import SkiffTestSupport
import Testing

/// The fake runtime answers from the state the test sets and records what it was asked.
@Suite struct FakeRuntimeTests {
    @Test func aStartIsRecordedAndRunsUntilStopped() async throws {
        let runtime = FakeRuntime()
        let started = try await runtime.start(InstanceSpec(id: "web-1", lowerDirs: [], port: 9000))
        #expect(started.id == "web-1" && started.port == 9000)
        #expect(await runtime.isRunning(instanceID: "web-1"))
        try await runtime.stop(instanceID: "web-1", grace: .zero)
        #expect(await !runtime.isRunning(instanceID: "web-1"))
        #expect(runtime.state.starts.map(\.id) == ["web-1"])
        #expect(runtime.state.stops == ["web-1"])
    }

    @Test func aRefusedStartIsRecordedAndRunsNothing() async {
        let runtime = FakeRuntime(startError: RuntimeError(.runtime, "no instances here"))
        await #expect(throws: RuntimeError.self) {
            try await runtime.start(InstanceSpec(id: "web-1", lowerDirs: []))
        }
        #expect(runtime.state.starts.map(\.id) == ["web-1"])
        #expect(await !runtime.isRunning(instanceID: "web-1"))
    }

    @Test func leftoversAndAdoptionComeFromTheState() async throws {
        let runtime = FakeRuntime()
        let instance = StartedInstance(id: "web-1", address: "10.0.0.2", port: 8080, pid: 42, logPath: "/dev/null")
        runtime.update { state in
            state.leftovers = ["web-1", "web-2"]
            state.adoptable = ["web-1": instance]
        }
        #expect(try await runtime.leftovers() == ["web-1", "web-2"])
        #expect(try await runtime.adopt(instanceID: "web-1", port: 8080) == instance)
        let error = await #expect(throws: RuntimeError.self) {
            try await runtime.adopt(instanceID: "web-2", port: 8080)
        }
        #expect(error?.code == .notFound)
    }
}
