import Logging
public import SkiffModel
import SkiffStore

extension Controller {
    /// Revisions of one service, or of all, oldest first, with their traffic and instances.
    public func revisions(of service: ServiceName? = nil) async throws(ControllerError) -> [RevisionSummary] {
        if let service, !isKnown(service) { throw ControllerError(.notFound, "service \"\(service)\" not found") }
        let stored: [Revision]
        do {
            stored = try await store.revisions(service: service)
        } catch {
            throw ControllerError(.internalError, "cannot read revisions", cause: error)
        }
        return stored.map(summary(of:))
    }

    public func revision(named name: String) async throws(ControllerError) -> RevisionSummary {
        guard let revision = try await storedRevision(name) else {
            throw ControllerError(.notFound, "revision \"\(name)\" not found")
        }
        return summary(of: revision)
    }

    /// Deletes a revision that serves nothing: not the latest of its service (the template
    /// new instances are made from), and no traffic. Its image stays until garbage collection.
    public func deleteRevision(named name: String) async throws(ControllerError) {
        guard let revision = try await storedRevision(name) else {
            throw ControllerError(.notFound, "revision \"\(name)\" not found")
        }
        if isLatest(revision) {
            throw ControllerError(
                .conflict,
                "revision \(name) is the latest of service \(revision.service); deploy a new revision first, or delete the service"
            )
        }
        let current = summary(of: revision)
        if current.trafficPercent > 0 {
            throw ControllerError(
                .conflict,
                "revision \(name) still receives \(current.trafficPercent) % of \(revision.service)'s traffic; move it first (skiff traffic)"
            )
        }
        if let tag = current.tags.first {
            throw ControllerError(
                .conflict,
                "revision \(name) is tagged \(tag); remove the tag first (skiff traffic \(revision.service) --untag \(tag))"
            )
        }
        do {
            _ = try await store.deleteRevision(named: name)
        } catch {
            throw ControllerError(.internalError, "cannot delete revision \(name)", cause: error)
        }
        logger.info("deleted revision", metadata: ["revision": "\(name)"])
    }

    private func storedRevision(_ name: String) async throws(ControllerError) -> Revision? {
        do {
            return try await store.revision(named: name)
        } catch {
            throw ControllerError(.internalError, "cannot read revision \(name)", cause: error)
        }
    }

    private func summary(of revision: Revision) -> RevisionSummary {
        let instances = supervisedInstances.filter { $0.instance.revision == revision.name && !$0.stopRequested }
        let routes = catalog.resolvedTraffic(of: revision.service).filter { $0.revision == revision.name }
        return RevisionSummary(
            name: revision.name, service: revision.service, image: revision.spec.image,
            imageDigest: revision.imageDigest, createdAt: revision.createdAt,
            trafficPercent: routes.reduce(0) { $0 + $1.percent }, tags: routes.compactMap(\.tag),
            ready: hasBeenReady(revision), instances: instances.count, spec: revision.spec,
            failure: revision.failure ?? catalog[revision.service]?.runnable(revision.name)?.revision.failure)
    }

    /// It reached its initial instances once, now or before a restart.
    func hasBeenReady(_ revision: Revision) -> Bool {
        revision.readyAt != nil || catalog.latestReady[revision.service] == revision.name
            || supervisedInstances.contains { $0.instance.revision == revision.name && $0.instance.state.isServing }
    }
}
