import Foundation
import Logging
public import SkiffModel
import SkiffOCI
import SkiffRegistry
import SkiffRuntime
import SkiffStore

extension Controller {
    /// Creates or updates a service, and its traffic. Validation and image resolution happen
    /// first, so a rejected deploy changes nothing.
    public func deploy(
        name: ServiceName, spec: ServiceSpec, options: DeployOptions = DeployOptions()
    ) async throws(ControllerError) -> (service: SkiffModel.Service, created: Bool) {
        guard phase != .shuttingDown else { throw ControllerError(.unavailable, "the server is shutting down") }
        do {
            try spec.validate()
            try options.validate(service: name)
        } catch {
            throw ControllerError(.invalidArgument, error.message)
        }
        let digest: Digest
        let image: ResolvedImage
        do throws(ImageError) {
            digest = try await resolver.digest(for: spec.image)
            image = try await resolver.resolve(digest, as: spec.image)
        } catch {
            throw ControllerError(imageError: error)
        }
        let created = catalog[name] == nil
        // A gradual rollout starts with the traffic pinned where it is; with nothing ready
        // to pin it to, the deploy is an ordinary one.
        let rollingFrom = options.rollout == nil ? nil : catalog.latestReady[name]
        var options = options
        if rollingFrom != nil { options.noTraffic = true }
        let result: (revision: Revision, created: Bool, pruned: [String])
        let stored: (record: ServiceRow, revision: Revision)?
        do throws(StoreError) {
            result = try await store.deploy(
                service: name, spec: spec, imageDigest: digest.description, options: options,
                latestReady: catalog.latestReady[name], keep: configuration.revisionHistory)
            stored = try await store.service(name)
        } catch {
            throw ControllerError(storeError: error, "cannot store service \(name)")
        }
        guard let row = stored?.record else {
            throw ControllerError(.internalError, "service \(name) vanished while it was deployed")
        }
        let revision = result.revision
        logger.info(
            "deployed", metadata: ["service": "\(name)", "revision": "\(revision.name)", "new": "\(result.created)"])
        if !result.pruned.isEmpty {
            logger.info("deleted old revisions", metadata: ["service": "\(name)", "revisions": "\(result.pruned)"])
        }
        let others = try await runnables(for: row, keeping: catalog[name]?.others ?? [:])
        catalog[name] = ServiceCatalog.Entry(row: row, revision: revision, image: image, others: others)
        if let from = rollingFrom, let policy = options.rollout, from != revision.name {
            startRollout(name, from: from, to: revision.name, base: row.traffic, policy: policy)
        } else {
            cancelRollout(name, because: "superseded by the deploy of \(revision.name)")
        }
        reconcile()
        guard let view = view(of: name) else {
            throw ControllerError(.internalError, "service \(name) vanished while it was deployed")
        }
        return (view, created)
    }

    /// Deletes a service after its instances drained and stopped.
    public func delete(name: ServiceName) async throws(ControllerError) {
        guard catalog[name] != nil else {
            throw ControllerError(.notFound, "service \"\(name)\" not found")
        }
        do {
            try await store.deleteService(name)
        } catch {
            throw ControllerError(.internalError, "cannot delete service \(name)", cause: error)
        }
        catalog[name] = nil
        events.forget(name)
        rollouts[name] = nil
        reconcile()
        // Stopping drains in-flight requests for up to the drain timeout, then kills.
        let deadline = clock.now + configuration.drainTimeout + .seconds(20)
        while supervised.values.contains(where: { $0.instance.service == name }), clock.now < deadline {
            try? await clock.sleep(until: min(clock.now + .milliseconds(50), deadline))
        }
    }

    public func services() -> [SkiffModel.Service] {
        catalog.names.compactMap { view(of: $0) }
    }

    public func service(_ name: ServiceName) throws(ControllerError) -> SkiffModel.Service {
        guard let view = view(of: name) else { throw ControllerError(.notFound, "service \"\(name)\" not found") }
        return view
    }

    /// Instances of one service, or of all, oldest first.
    public func instances(of name: ServiceName? = nil) throws(ControllerError) -> [Instance] {
        if let name, catalog[name] == nil { throw ControllerError(.notFound, "service \"\(name)\" not found") }
        return supervised.values.map(\.instance)
            .filter { name == nil || $0.service == name }
            .sorted {
                ($0.service, $0.startedAt ?? .distantFuture, $0.id) < (
                    $1.service, $1.startedAt ?? .distantFuture, $1.id
                )
            }
    }

    /// Instances of the service's revisions that no longer run but whose logs are still
    /// kept (see ``LogPolicy``), the longest gone first.
    public func endedInstances(of name: ServiceName) async throws(ControllerError) -> [String] {
        // An instance is named after its revision: `REVISION-xxxxx`.
        let revisions = try await revisions(of: name).map { $0.name + "-" }
        let logged = await runtime.loggedInstances()
        return logged.filter { id in
            supervised[id] == nil && revisions.contains { id.hasPrefix($0) && id.count == $0.count + Self.suffixLength }
        }
    }

    /// The service as the API shows it.
    func view(of name: ServiceName) -> SkiffModel.Service? {
        catalog.view(
            of: name, instances: supervised.values.map(\.instance).filter { $0.service == name },
            rollout: rollouts[name]?.status)
    }
}
