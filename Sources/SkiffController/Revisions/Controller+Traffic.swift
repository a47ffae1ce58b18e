import Logging
public import SkiffModel
import SkiffStore

extension Controller {
    /// Replaces a service's traffic (Knative's `spec.traffic`). The change reaches the gateway
    /// as one routing-table update, so every request sees either the old split or the new.
    public func setTraffic(of name: ServiceName, to traffic: [TrafficTarget]) async throws(ControllerError)
        -> SkiffModel.Service
    {
        try await setTraffic(of: name, to: traffic, byRollout: false)
    }

    /// A change by hand ends a gradual rollout where it stands; the rollout's own do not.
    func setTraffic(of name: ServiceName, to traffic: [TrafficTarget], byRollout: Bool) async throws(ControllerError)
        -> SkiffModel.Service
    {
        guard let wanted = catalog[name] else { throw ControllerError(.notFound, "service \"\(name)\" not found") }
        do {
            try traffic.validate(service: name)
        } catch {
            throw ControllerError(.invalidArgument, error.message)
        }
        var proposed = wanted.row
        proposed.traffic = traffic
        // Load the revisions first: one whose image is gone fails here and changes nothing.
        let others = try await runnables(for: proposed, keeping: wanted.others)
        for name in traffic.revisionNames {
            if let failure = (name == wanted.revision.name ? wanted.revision : others[name]?.revision)?.failure {
                throw ControllerError(
                    .conflict,
                    "revision \(name) failed and cannot take traffic: \(failure.reason.rawValue): \(failure.message)")
            }
        }
        let row: ServiceRow
        do {
            row = try await store.setTraffic(traffic, of: name)
        } catch {
            throw ControllerError(storeError: error, "cannot store the traffic of \(name)")
        }
        guard catalog[name] != nil else {
            throw ControllerError(.notFound, "service \"\(name)\" was deleted meanwhile")
        }
        catalog[name]?.row.traffic = row.traffic
        catalog[name]?.others = others
        if !byRollout { cancelRollout(name, because: "the traffic was changed by hand") }
        logger.info("traffic changed", metadata: ["service": "\(name)", "traffic": "\(Self.describe(traffic))"])
        recordEvent(service: name, .normal, "TrafficChanged", Self.describe(traffic))
        reconcile()
        return try service(name)
    }

    /// Sends all of a service's requests to `revision`, or else to the newest ready revision
    /// older than the one taking most traffic now. Tags stay, at 0 %.
    public func rollback(_ name: ServiceName, to revision: String? = nil) async throws(ControllerError)
        -> SkiffModel.Service
    {
        guard let wanted = catalog[name] else { throw ControllerError(.notFound, "service \"\(name)\" not found") }
        let history: [Revision]
        do {
            history = try await store.revisions(service: name)
        } catch {
            throw ControllerError(.internalError, "cannot read the revisions of \(name)", cause: error)
        }
        let target: Revision
        if let revision {
            guard let named = history.first(where: { $0.name == revision }) else {
                throw ControllerError(.notFound, "service \(name) has no revision \"\(revision)\"")
            }
            guard hasBeenReady(named) else {
                throw ControllerError(.conflict, "revision \(revision) never became ready; pick one that did")
            }
            target = named
        } else {
            let current =
                catalog.resolvedTraffic(of: name).max { $0.percent < $1.percent }?.revision ?? wanted.revision.name
            guard let position = history.firstIndex(where: { $0.name == current }),
                let previous = history[..<position].last(where: hasBeenReady)
            else {
                let others = history.filter { $0.name != current && hasBeenReady($0) }.map(\.name)
                let hint = others.isEmpty ? "" : "; name one with --to (\(others.suffix(3).joined(separator: ", ")))"
                throw ControllerError(
                    .conflict, "service \(name) has no ready revision older than \(current) to roll back to\(hint)")
            }
            target = previous
        }
        let traffic = wanted.row.traffic.allTo(target.name)
        logger.info("rolling back", metadata: ["service": "\(name)", "to": "\(target.name)"])
        return try await setTraffic(of: name, to: traffic)
    }

    static func describe(_ traffic: [TrafficTarget]) -> String {
        traffic.map { target in
            "\(target.subject)=\(target.percent)%" + (target.tag.map { " (\($0))" } ?? "")
        }.joined(separator: ", ")
    }
}
