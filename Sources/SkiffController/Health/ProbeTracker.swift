import SkiffModel

/// Kubernetes' counting for a probe that runs periodically on a serving instance: it turns
/// failing after `failureThreshold` failures in a row and passing again after
/// `successThreshold` successes in a row.
struct ProbeTracker: Sendable {
    enum Transition: Sendable, Hashable {
        /// Still passing, or still failing with no change worth reporting.
        case unchanged
        /// A failure below the threshold: (failures in a row, threshold).
        case failed(Int, of: Int)
        case becameFailing
        case becamePassing
    }

    let probe: Probe
    private(set) var passing = true
    private(set) var failures = 0
    private(set) var successes = 0
    /// When the next check is due, on the controller's ``ControlClock``.
    var nextCheck: Duration

    init(probe: Probe, startingAt start: Duration) {
        self.probe = probe
        self.nextCheck = start + .seconds(probe.initialDelaySeconds)
    }

    /// Period 0 (readiness only, as Knative allows) probes every second once serving.
    var period: Duration { .seconds(max(1, probe.periodSeconds)) }

    mutating func record(passed: Bool) -> Transition {
        if passed {
            failures = 0
            successes += 1
            if !passing, successes >= probe.successThreshold {
                passing = true
                return .becamePassing
            }
            return .unchanged
        }
        successes = 0
        failures += 1
        if passing, failures >= probe.failureThreshold {
            passing = false
            return .becameFailing
        }
        return passing ? .failed(failures, of: probe.failureThreshold) : .unchanged
    }
}

extension Probe {
    /// What a probe configured with these numbers may take to pass the first time:
    /// Kubernetes fails it after `initialDelaySeconds + failureThreshold × periodSeconds`.
    var startupBudget: Duration {
        .seconds(initialDelaySeconds) + .seconds(max(1, periodSeconds)) * failureThreshold
    }

    /// The default startup probe: a TCP connect to the container's port.
    static let defaultStartup = Probe(tcpSocket: TCPSocketAction())
}
