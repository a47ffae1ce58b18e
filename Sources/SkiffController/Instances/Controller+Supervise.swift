import Foundation
import Logging
import SkiffGateway
import SkiffModel
import SkiffOCI
import SkiffRuntime

extension Controller {
    /// Runs one instance for its whole life: start, wait ready, serve, restart on crash with
    /// backoff, and on a stop request drain and remove it.
    nonisolated func supervise(_ id: String) async {
        var backoff = RestartBackoff()
        let logger = self.logger.with(instance: id)
        while true {
            guard let spec = await spec(for: id), await entry(id)?.stopRequested == false else { break }
            let launchedAt = ContinuousClock.now
            let outcome = await runOnce(id, spec: spec, logger: logger)
            switch outcome {
            case .stopRequested:
                break
            case .gaveUp:
                await markGaveUp(id)
                // Kept as `failed` with its reason until a new revision replaces it.
                while await entry(id)?.stopRequested == false {
                    try? await Task.sleep(for: .milliseconds(100))
                }
            case .exited(let reason):
                let delay = backoff.delay(afterRunning: ContinuousClock.now - launchedAt)
                logger.warning("instance exited; restarting", metadata: ["reason": "\(reason)", "in": "\(delay)"])
                await update(id) {
                    $0.state = .failed
                    $0.restarts += 1
                    $0.message = "\(reason); restarting in \(DurationText.format(delay))"
                }
                await requestReconcile()
                try? await runtime.stop(instanceID: id, grace: .zero)
                let resumeAt = ContinuousClock.now + delay
                while ContinuousClock.now < resumeAt, await entry(id)?.stopRequested == false {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                continue
            }
            break
        }
        await drainAndStop(id, logger: logger)
    }

    enum RunOutcome {
        case stopRequested
        case gaveUp
        case exited(String)
    }

    private nonisolated func runOnce(_ id: String, spec: InstanceSpec, logger: Logger) async -> RunOutcome {
        await update(id) {
            $0.state = .starting
            $0.address = nil
        }
        let started: StartedInstance
        do {
            started = try await runtime.start(spec)
        } catch {
            return .exited("start failed: \(error)")
        }
        await update(id) {
            $0.address = "\(started.address):\(started.port)"
            $0.startedAt = Date()
        }
        logger.debug("started", metadata: ["address": "\(started.address):\(started.port)"])

        // Readiness: a TCP connect to $PORT within the startup budget; every millisecond for
        // the first quarter second, since a request may be waiting for this instance and
        // most apps listen within that, then backing off to every 50 ms. A refused connect
        // costs microseconds.
        let probingSince = ContinuousClock.now
        let deadline = probingSince + configuration.readinessBudget
        var interval = Duration.milliseconds(1)
        while true {
            if await entry(id)?.stopRequested != false { return .stopRequested }
            if await probe.check(host: started.address, port: started.port) { break }
            if await !runtime.isRunning(instanceID: id) {
                return .exited("process exited before it listened on port \(started.port)")
            }
            if ContinuousClock.now >= deadline {
                let budget = DurationText.format(configuration.readinessBudget)
                await update(id) {
                    $0.state = .failed
                    $0.message = "not ready after \(budget): nothing accepted connections on port \(started.port)"
                }
                try? await runtime.stop(instanceID: id, grace: .zero)
                await requestReconcile()
                return .gaveUp
            }
            try? await Task.sleep(for: interval)
            if ContinuousClock.now - probingSince > .milliseconds(250) {
                interval = min(interval * 2, TCPReadinessProbe.interval)
            }
        }
        await update(id) {
            $0.state = .ready
            $0.message = nil
        }
        await requestReconcile()
        logger.info("ready", metadata: ["address": "\(started.address):\(started.port)"])

        // Watch the process until it exits or the instance is asked to stop.
        var tick = 0
        while true {
            if await entry(id)?.stopRequested != false { return .stopRequested }
            tick += 1
            if tick % 5 == 0, await !runtime.isRunning(instanceID: id) {
                await update(id) { $0.state = .failed }
                return .exited("process exited")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Takes the instance out of routing, lets in-flight requests finish within the drain
    /// timeout, then stops the container (SIGTERM, then SIGKILL) and removes everything.
    private nonisolated func drainAndStop(_ id: String, logger: Logger) async {
        await update(id) { $0.state = .stopping }
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while routing.inFlight(backendID: id) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = max(deadline - ContinuousClock.now, .seconds(1))
        do {
            try await runtime.stop(instanceID: id, grace: remaining)
        } catch {
            logger.error("cannot stop instance: \(error)")
        }
        await remove(id)
        logger.info("stopped")
    }
}

extension Logger {
    func with(instance id: String) -> Logger {
        var copy = self
        copy[metadataKey: "instance"] = "\(id)"
        return copy
    }
}
