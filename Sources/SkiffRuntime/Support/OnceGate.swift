/// Runs a setup step once for many concurrent callers: the first runs it, the others wait
/// for its outcome; a failure lets the next caller try again. An actor whose `ensure`
/// suspends would otherwise let two callers run the step at the same time.
actor OnceGate {
    private enum State {
        case idle
        case running
        case done
    }

    private var state = State.idle
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func ensure(_ step: @Sendable () async throws(RuntimeError) -> Void) async throws(RuntimeError) {
        while true {
            switch state {
            case .done:
                return
            case .running:
                await withCheckedContinuation { waiters.append($0) }
            case .idle:
                state = .running
                do {
                    try await step()
                    state = .done
                    wakeAll()
                    return
                } catch {
                    state = .idle
                    wakeAll()
                    throw error
                }
            }
        }
    }

    /// Forgets that the step ran, so the next `ensure` runs it again.
    func reset() { if state == .done { state = .idle } }

    private func wakeAll() {
        let waiting = waiters
        waiters = []
        for waiter in waiting { waiter.resume() }
    }
}
