public import SkiffRuntime
import Synchronization

/// A ``ContainerRuntime`` that runs nothing: it answers from state the test sets and records
/// what it was asked, so code above the runtime (the controller, the API) is tested without
/// runc, root or a network.
///
/// A start succeeds unless ``State/startError`` is set: it is recorded, the instance counts
/// as running, and it is reachable at `127.0.0.1` on the spec's port. A stop is recorded and
/// the instance no longer runs; an instance exits when the test takes it out of
/// ``State/running``. Logs are the protocol's defaults for a runtime without them, and so are
/// exec and freezing unless the test sets ``State/execStatus`` or ``State/canFreeze``.
///
/// ```swift
/// let runtime = FakeRuntime(startError: RuntimeError(.runtime, "no instances in these tests"))
/// runtime.update { $0.leftovers = ["web-1"] }
/// // … run the controller over it …
/// #expect(runtime.state.stops == ["web-1"])
/// ```
public final class FakeRuntime: ContainerRuntime {
    /// What the fake answers and what it was asked; read it with ``state``, change it with
    /// ``update(_:)``.
    public struct State: Sendable {
        /// Thrown by every ``FakeRuntime/start(_:)``; nil lets starts succeed.
        public var startError: RuntimeError?
        /// Instances ``FakeRuntime/isRunning(instanceID:)`` answers `true` for: those the
        /// test puts here, those started and not stopped since.
        public var running: Set<String> = []
        /// What ``FakeRuntime/leftovers()`` answers.
        public var leftovers: [String] = []
        /// Instances ``FakeRuntime/adopt(instanceID:port:)`` takes back, by id; adopting any
        /// other id throws ``RuntimeError/Code/notFound``, as a runtime that cannot verify it.
        public var adoptable: [String: StartedInstance] = [:]
        /// Every spec ``FakeRuntime/start(_:)`` was called with, refused or not, in order.
        public var starts: [InstanceSpec] = []
        /// Every instance id ``FakeRuntime/stop(instanceID:grace:)`` was called with, in order.
        public var stops: [String] = []
        /// The `live` set of every ``FakeRuntime/maintainLogs(live:)`` pass, in order.
        public var logMaintenancePasses: [Set<String>] = []
        /// The exit status of every command ``FakeRuntime/exec(instanceID:command:timeout:)``
        /// runs (an exec probe passes on 0); nil throws, as a runtime that cannot run commands.
        public var execStatus: Int32?
        /// Whether ``FakeRuntime/freezeNow(instanceID:)`` succeeds; when false it throws, as a
        /// runtime without a freezer.
        public var canFreeze = false
        /// Every instance id ``FakeRuntime/freezeNow(instanceID:)`` froze, in order.
        public var freezes: [String] = []

        public init() {}
    }

    private let box: Mutex<State>

    /// A runtime whose starts throw `startError`, or succeed when it is nil.
    public init(startError: RuntimeError? = nil) {
        var state = State()
        state.startError = startError
        box = Mutex(state)
    }

    /// A copy of the current state.
    public var state: State { box.withLock { $0 } }

    /// Changes the state in one step (the runtime's own calls wait meanwhile).
    public func update<T>(_ body: (inout State) throws -> T) rethrows -> T {
        try box.withLock { try body(&$0) }
    }

    public func start(_ spec: InstanceSpec) async throws(RuntimeError) -> StartedInstance {
        let refusal: RuntimeError? = box.withLock { state in
            state.starts.append(spec)
            if state.startError == nil { state.running.insert(spec.id) }
            return state.startError
        }
        if let refusal { throw refusal }
        return StartedInstance(id: spec.id, address: "127.0.0.1", port: spec.port, pid: 0, logPath: "/dev/null")
    }

    public func stop(instanceID: String, grace: Duration) async throws(RuntimeError) {
        box.withLock { state in
            state.stops.append(instanceID)
            state.running.remove(instanceID)
        }
    }

    public func isRunning(instanceID: String) async -> Bool {
        box.withLock { $0.running.contains(instanceID) }
    }

    public func leftovers() async throws(RuntimeError) -> [String] {
        box.withLock { $0.leftovers }
    }

    public func adopt(instanceID: String, port: Int) async throws(RuntimeError) -> StartedInstance {
        guard let instance = box.withLock({ $0.adoptable[instanceID] }) else {
            throw RuntimeError(.notFound, "the fake runtime has no instance \(instanceID) to adopt")
        }
        return instance
    }

    public func exec(instanceID: String, command: [String], timeout: Duration) async throws(RuntimeError)
        -> ExecOutcome
    {
        guard let status = box.withLock({ $0.execStatus }) else {
            throw RuntimeError(.runtime, "the fake runtime runs no commands")
        }
        return .exited(status, output: "")
    }

    public func freezeNow(instanceID: String) throws(RuntimeError) {
        let frozen = box.withLock { state in
            if state.canFreeze { state.freezes.append(instanceID) }
            return state.canFreeze
        }
        if !frozen { throw RuntimeError(.cgroup, "the fake runtime cannot freeze instances") }
    }

    public func maintainLogs(live: Set<String>) async throws(RuntimeError) -> LogMaintenance {
        box.withLock { $0.logMaintenancePasses.append(live) }
        return LogMaintenance()
    }
}
