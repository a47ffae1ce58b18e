import Logging
import SkiffRuntime

extension Controller {
    /// Keeps the instances' logs within the runtime's ``LogPolicy``: those of running
    /// instances rotate when they grow too large, those of instances gone long enough go.
    nonisolated func logLoop() async {
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
}
