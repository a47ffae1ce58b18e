import Synchronization

/// One status line on stderr, rewritten in place; silent when stderr is not a terminal so
/// scripts and logs see only the result.
final class ProgressLine: Sendable {
    private struct State {
        var lastUpdate = ContinuousClock.now - .seconds(1)
        var shown = false
    }

    private let enabled: Bool
    private let state = Mutex(State())

    init(enabled: Bool = Console.stderrIsTerminal) {
        self.enabled = enabled
    }

    /// Shows `text`; updates closer than 100 ms apart are dropped unless `force`d.
    func update(_ text: String, force: Bool = false) {
        guard enabled else { return }
        state.withLock { state in
            let now = ContinuousClock.now
            guard force || now - state.lastUpdate >= .milliseconds(100) else { return }
            state.lastUpdate = now
            state.shown = true
            Console.error("\r\u{1B}[K" + text)
        }
    }

    /// Erases the line, before the result or an error is printed.
    func clear() {
        guard enabled else { return }
        state.withLock { state in
            if state.shown { Console.error("\r\u{1B}[K") }
            state.shown = false
        }
    }
}
