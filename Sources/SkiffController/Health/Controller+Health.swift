import Foundation
import Logging
public import SkiffModel
import SkiffStore

extension Controller {
    /// How many times instances of a revision that was never ready may fail to start or
    /// crash before the revision is marked failed. A probe that ran out its budget fails
    /// the revision at once: the budget was the patience.
    static let crashesBeforeFailure = 3

    func probes(for id: String) -> Probes? {
        guard let entry = entry(id) else { return nil }
        return catalog[entry.instance.service]?.runnable(entry.instance.revision)?.revision.spec.probes
    }

    /// An instance gave up before it was ever ready. Returns true when that failed its
    /// revision (it never was ready, and this was the last straw): the revision then runs
    /// nothing, and traffic stays on the revisions that serve.
    func instanceNeverReady(_ id: String, _ failure: RevisionFailure) async -> Bool {
        guard let instance = entry(id)?.instance, let wanted = catalog[instance.service],
            let runnable = wanted.runnable(instance.revision)
        else { return false }
        let revision = runnable.revision
        if revision.failure != nil { return true }
        if hasBeenReady(revision) { return false }
        neverReadyStrikes[revision.name, default: 0] += 1
        guard failure.reason == .probe || neverReadyStrikes[revision.name, default: 0] >= Self.crashesBeforeFailure
        else {
            return false
        }
        neverReadyStrikes[revision.name] = nil
        await update(id) {
            $0.state = .failed
            $0.message = failure.message
        }
        catalog.setFailure(failure, of: revision.name, service: instance.service)
        logger.warning(
            "revision failed",
            metadata: [
                "revision": "\(revision.name)", "reason": "\(failure.reason.rawValue)", "message": "\(failure.message)",
            ])
        var message = "\(revision.name) never became ready (\(failure.reason.rawValue)): \(failure.message)"
        if let line = failure.logTail.last { message += "; last log line: \(line)" }
        events.record(
            ServiceEvent(
                kind: .warning, reason: "RevisionFailed", message: message, service: instance.service,
                revision: revision.name))
        do {
            try await store.markFailed(revision.name, failure)
        } catch {
            logger.error("cannot record that revision \(revision.name) failed: \(error)")
        }
        reconcile()
        return true
    }

    /// Records an event about an instance, under its service and revision.
    func recordEvent(_ id: String, _ kind: ServiceEvent.Kind, _ reason: String, _ message: String) {
        guard let instance = entry(id)?.instance else { return }
        events.record(
            ServiceEvent(
                kind: kind, reason: reason, message: message, service: instance.service, revision: instance.revision,
                instance: id))
    }

    func recordEvent(
        service: ServiceName, revision: String? = nil, _ kind: ServiceEvent.Kind, _ reason: String, _ message: String
    ) {
        events.record(ServiceEvent(kind: kind, reason: reason, message: message, service: service, revision: revision))
    }

    /// The service's recent events, oldest first; only those of `revision` when given.
    public func events(of service: ServiceName, revision: String? = nil) throws(ControllerError) -> [ServiceEvent] {
        guard isKnown(service) else { throw ControllerError(.notFound, "service \"\(service)\" not found") }
        return events.events(of: service, revision: revision)
    }
}
