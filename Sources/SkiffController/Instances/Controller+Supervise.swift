import Foundation
import Logging
import SkiffGateway
import SkiffModel
import SkiffOCI
import SkiffRuntime

extension Controller {
    /// Runs one instance for its whole life: start, probe until ready, serve while probing,
    /// restart on crash or liveness failure with backoff, and on a stop request drain and
    /// remove it. A revision whose instances never become ready is marked failed here.
    ///
    /// An `adopted` instance (left running by a previous server process, and verified) is
    /// served from where it is; if it exits later, it restarts like any other. At a shutdown
    /// that keeps instances, a released instance is let go of, still running.
    nonisolated func supervise(_ id: String, adopted: StartedInstance? = nil) async {
        var backoff = RestartBackoff()
        var adopted = adopted
        let logger = self.logger.with(instance: id)
        while true {
            guard let spec = await spec(for: id), let probes = await probes(for: id),
                await entry(id)?.stopRequested == false
            else { break }
            let launchedAt = clock.now
            let outcome: RunOutcome
            if let started = adopted {
                adopted = nil
                logger.info("adopted", metadata: ["address": "\(started.address):\(started.port)"])
                outcome = await serve(
                    id, started: started, probes: probes, checker: HealthChecker(tcp: probe, runtime: runtime))
            } else {
                outcome = await runOnce(id, spec: spec, probes: probes, logger: logger)
            }
            let restartReason: String?
            switch outcome {
            case .stopRequested:
                restartReason = nil
            case .neverReady(let failure):
                // A revision that never became ready stops here; else this instance restarts.
                restartReason = await instanceNeverReady(id, failure) ? nil : failure.message
            case .exited(let message):
                restartReason = message
            }
            guard let reason = restartReason else { break }
            let delay = backoff.delay(afterRunning: clock.now - launchedAt)
            logger.warning("instance exited; restarting", metadata: ["reason": "\(reason)", "in": "\(delay)"])
            await update(id) {
                $0.state = .failed
                $0.restarts += 1
                $0.message = "\(reason); restarting in \(DurationText.format(delay))"
            }
            await recordEvent(id, .warning, "Restarted", "\(reason); restarting in \(DurationText.format(delay))")
            await requestReconcile()
            try? await runtime.stop(instanceID: id, grace: .zero)
            // Polled rather than slept through, so a stop request meanwhile ends it at once.
            let resumeAt = clock.now + delay
            while clock.now < resumeAt, await entry(id)?.stopRequested == false {
                try? await clock.sleep(until: min(clock.now + .milliseconds(50), resumeAt))
            }
        }
        if await entry(id)?.released == true {
            await release(id)
            logger.info("left running for the next server process")
            return
        }
        await drainAndStop(id, logger: logger)
    }

    enum RunOutcome {
        case stopRequested
        /// It never became ready: the revision may have to be marked failed.
        case neverReady(RevisionFailure)
        /// It was ready and then its process exited or its liveness probe failed.
        case exited(String)
    }

    private nonisolated func runOnce(_ id: String, spec: InstanceSpec, probes: Probes, logger: Logger) async
        -> RunOutcome
    {
        await update(id) {
            $0.state = .starting
            $0.address = nil
            $0.probes = []
        }
        let started: StartedInstance
        do {
            started = try await runtime.start(spec)
        } catch {
            return .neverReady(RevisionFailure(reason: .image, message: "the container did not start: \(error)"))
        }
        await update(id) {
            $0.address = "\(started.address):\(started.port)"
            $0.startedAt = Date()
        }
        logger.debug("started", metadata: ["address": "\(started.address):\(started.port)"])
        let checker = HealthChecker(tcp: probe, runtime: runtime)

        // Startup: the configured probe, or a TCP connect to $PORT within 240 s.
        let startedAt = clock.now
        let startup = probes.startup ?? .defaultStartup
        let startupDeadline = startedAt + (probes.startup?.startupBudget ?? configuration.readinessBudget)
        switch await probeUntilPassing(.startup, startup, id, started, checker, deadline: startupDeadline) {
        case .passed: break
        case .stopRequested: return .stopRequested
        case .failed(let failure): return .neverReady(failure)
        }
        // Then readiness, when configured, within its own budget counted from here.
        if let readiness = probes.readiness {
            let deadline = clock.now + readiness.startupBudget
            switch await probeUntilPassing(.readiness, readiness, id, started, checker, deadline: deadline) {
            case .passed: break
            case .stopRequested: return .stopRequested
            case .failed(let failure): return .neverReady(failure)
            }
        }
        await update(id) {
            $0.state = .ready
            $0.message = nil
        }
        await requestReconcile()
        logger.info("ready", metadata: ["address": "\(started.address):\(started.port)"])
        return await serve(id, started: started, probes: probes, checker: checker)
    }

    enum FirstPass {
        case passed
        case stopRequested
        case failed(RevisionFailure)
    }

    /// Probes until the first success, the deadline, the process's exit or a stop request.
    ///
    /// Probing starts after `initialDelaySeconds` and is aggressive, as Knative's is for a
    /// new instance: every millisecond for the first quarter second (a request may be waiting
    /// and most apps listen within that), then backing off to every 50 ms; an exec probe,
    /// which starts a process, at most every 100 ms. The probe's period and thresholds set
    /// the budget, not the pace.
    private nonisolated func probeUntilPassing(
        _ kind: Probe.Kind, _ probe: Probe, _ id: String, _ started: StartedInstance, _ checker: HealthChecker,
        deadline: Duration
    ) async -> FirstPass {
        guard let action = probe.action else { return .passed }
        let probingSince = clock.now
        let firstCheck = probingSince + .seconds(probe.initialDelaySeconds)
        var interval: Duration = if case .exec = action { .milliseconds(100) } else { .milliseconds(1) }
        var attempts = 0
        var last = "not probed yet"
        while true {
            if await entry(id)?.stopRequested != false { return .stopRequested }
            if clock.now >= firstCheck {
                attempts += 1
                let outcome = await checker.check(
                    action, instanceID: id, host: started.address, port: started.port,
                    timeout: .seconds(probe.timeoutSeconds))
                if case .failed(let message) = outcome {
                    last = message
                } else {
                    await update(id) { $0.record(ProbeResult(kind: kind, passing: true, consecutive: 1)) }
                    return .passed
                }
            }
            if await !runtime.isRunning(instanceID: id) {
                let tail = LogTail.read(started.logPath)
                return .failed(
                    RevisionFailure(reason: .crash, message: "the process exited before it became ready", logTail: tail)
                )
            }
            if clock.now >= deadline {
                let budget = DurationText.format(deadline - probingSince)
                let message = "\(kind.rawValue) probe did not pass within \(budget) (\(attempts) attempts): \(last)"
                await update(id) {
                    $0.record(ProbeResult(kind: kind, passing: false, consecutive: attempts, message: last))
                }
                try? await runtime.stop(instanceID: id, grace: .zero)
                return .failed(RevisionFailure(reason: .probe, message: message))
            }
            // The last attempt comes at the deadline itself, not up to an interval after it.
            try? await clock.sleep(until: min(clock.now + interval, deadline))
            if clock.now - probingSince > .milliseconds(250) {
                interval = min(interval * 2, max(interval, TCPReadinessProbe.interval))
            }
        }
    }

    /// Watches a ready instance until it exits, fails its liveness probe, or is asked to
    /// stop; readiness failures take it out of the balancer and back in. A frozen instance
    /// is not probed: its processes cannot answer, and that says nothing about its health.
    private nonisolated func serve(_ id: String, started: StartedInstance, probes: Probes, checker: HealthChecker) async
        -> RunOutcome
    {
        let now = clock.now
        var readiness = probes.readiness.map {
            ProbeTracker(probe: $0, startingAt: now + .seconds(max(1, $0.periodSeconds)))
        }
        var liveness = probes.liveness.map { ProbeTracker(probe: $0, startingAt: now) }
        var tick = 0
        while true {
            if await entry(id)?.stopRequested != false { return .stopRequested }
            tick += 1
            if tick % 5 == 0, await !runtime.isRunning(instanceID: id) {
                await update(id) { $0.state = .failed }
                let tail = LogTail.read(started.logPath, lines: 3)
                return .exited("process exited" + (tail.last.map { " (last line: \($0))" } ?? ""))
            }
            let now = clock.now
            if await entry(id)?.instance.state == .frozen {
                // Checks come due again a period after the thaw, not at once.
                if var tracker = readiness {
                    tracker.nextCheck = now + tracker.period
                    readiness = tracker
                }
                if var tracker = liveness {
                    tracker.nextCheck = now + tracker.period
                    liveness = tracker
                }
            } else {
                if var tracker = readiness, now >= tracker.nextCheck {
                    await periodicCheck(.readiness, &tracker, id, started, checker)
                    readiness = tracker
                }
                if var tracker = liveness, now >= tracker.nextCheck {
                    let failing = await periodicCheck(.liveness, &tracker, id, started, checker)
                    liveness = tracker
                    if failing {
                        let message =
                            (await entry(id)?.instance.probes.first { $0.kind == "liveness" }?.message) ?? "no reason"
                        return .exited("liveness probe failed \(tracker.probe.failureThreshold) times: \(message)")
                    }
                }
            }
            try? await clock.sleep(for: .milliseconds(50))
        }
    }

    /// Runs one periodic check and applies its outcome; returns whether the probe is failing.
    @discardableResult
    private nonisolated func periodicCheck(
        _ kind: Probe.Kind, _ tracker: inout ProbeTracker, _ id: String, _ started: StartedInstance,
        _ checker: HealthChecker
    ) async -> Bool {
        guard let action = tracker.probe.action else { return false }
        tracker.nextCheck = clock.now + tracker.period
        let outcome = await checker.check(
            action, instanceID: id, host: started.address, port: started.port,
            timeout: .seconds(tracker.probe.timeoutSeconds))
        // Frozen meanwhile: the check timed out against a paused process; it proves nothing.
        if await entry(id)?.instance.state == .frozen { return !tracker.passing }
        let message: String? = if case .failed(let text) = outcome { text } else { nil }
        let transition = tracker.record(passed: outcome.passed)
        let name = kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst()
        switch transition {
        case .unchanged:
            if !outcome.passed {
                // Still failing: keep the latest reason visible.
                let failures = tracker.failures
                await update(id) {
                    $0.record(ProbeResult(kind: kind, passing: false, consecutive: failures, message: message))
                }
            }
        case .failed(let count, let threshold):
            await update(id) { $0.record(ProbeResult(kind: kind, passing: true, consecutive: 0, message: message)) }
            await recordEvent(
                id, .warning, "Unhealthy", "\(name) probe failed (\(count)/\(threshold)): \(message ?? "")")
        case .becameFailing:
            let failures = tracker.failures
            await update(id) {
                $0.record(ProbeResult(kind: kind, passing: false, consecutive: failures, message: message))
                if kind == .readiness, $0.state == .ready { $0.state = .unready }
            }
            if kind == .readiness {
                await recordEvent(
                    id, .warning, "NotReady",
                    "readiness probe failed \(failures) times (\(message ?? "")); out of the balancer until it passes")
                await requestReconcile()
            }
        case .becamePassing:
            let successes = tracker.successes
            await update(id) {
                $0.record(ProbeResult(kind: kind, passing: true, consecutive: successes))
                if kind == .readiness, $0.state == .unready { $0.state = .ready }
            }
            if kind == .readiness {
                await recordEvent(
                    id, .normal, "Ready", "readiness probe passed \(successes) times; back in the balancer")
                await requestReconcile()
            }
        }
        return !tracker.passing
    }

    /// Takes the instance out of routing, lets in-flight requests finish within the drain
    /// timeout, then stops the container (SIGTERM, then SIGKILL) and removes everything.
    private nonisolated func drainAndStop(_ id: String, logger: Logger) async {
        await update(id) { $0.state = .stopping }
        let deadline = clock.now + configuration.drainTimeout
        while routing.inFlight(backendID: id) > 0, clock.now < deadline {
            try? await clock.sleep(until: min(clock.now + .milliseconds(20), deadline))
        }
        let remaining = max(deadline - clock.now, .seconds(1))
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
