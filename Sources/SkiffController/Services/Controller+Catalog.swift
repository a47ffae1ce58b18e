import Logging
import SkiffModel
import SkiffOCI
import SkiffRegistry
import SkiffStore

extension Controller {
    /// Loads the stored services and publishes their routes, before any instance is known:
    /// the API answers with every service and the gateway queues their requests (the
    /// activator holds them) from the first moment, instead of answering 404. Idempotent;
    /// the server calls it before it starts listening.
    public func restore() async {
        guard phase == .starting else { return }
        phase = .running
        let services: [(record: ServiceRow, revision: Revision)]
        do {
            services = try await store.services()
        } catch {
            logger.error("cannot read services: \(error)")
            return
        }
        for (row, revision) in services {
            do {
                let digest = try Digest(revision.imageDigest)
                let image: ResolvedImage
                do throws(ImageError) {
                    image = try await resolver.resolve(digest, as: revision.spec.image)
                } catch {
                    throw ControllerError(imageError: error)
                }
                if let ready = row.latestReadyRevision { catalog.restoreReady(ready, of: row.name) }
                if let rollout = row.rollout { resumeRollout(row.name, rollout) }
                let others = try await runnables(for: row)
                catalog[row.name] = ServiceCatalog.Entry(row: row, revision: revision, image: image, others: others)
            } catch {
                logger.error("service \(row.name) cannot run: \(error)")
            }
        }
        publishRoutes()
    }

    /// Loads every revision besides the latest that `row`'s traffic may route to.
    func runnables(
        for row: ServiceRow, keeping known: [String: ServiceCatalog.Runnable] = [:]
    ) async throws(ControllerError) -> [String: ServiceCatalog.Runnable] {
        var names = Set(row.traffic.revisionNames)
        if let ready = catalog.latestReady[row.name] ?? row.latestReadyRevision { names.insert(ready) }
        names.remove(row.latestRevision)
        var result: [String: ServiceCatalog.Runnable] = [:]
        for name in names.sorted() {
            if let loaded = known[name] {
                result[name] = loaded
                continue
            }
            let stored: Revision?
            do {
                stored = try await store.revision(named: name)
            } catch {
                throw ControllerError(.internalError, "cannot read revision \(name)", cause: error)
            }
            guard let revision = stored else {
                throw ControllerError(.notFound, "revision \"\(name)\" not found")
            }
            do {
                let digest = try Digest(revision.imageDigest)
                do throws(ImageError) {
                    let image = try await resolver.resolve(digest, as: revision.spec.image)
                    result[name] = ServiceCatalog.Runnable(revision: revision, image: image)
                } catch {
                    throw ControllerError(imageError: error)
                }
            } catch {
                throw ControllerError(
                    .conflict, "revision \(name) cannot run: its image \(revision.spec.image) is gone (\(error))")
            }
        }
        return result
    }

    /// Writes readiness noted by reconcile passes to the store, so `latest` traffic and
    /// rollbacks survive a restart.
    func recordReadiness() async {
        // Until none is left: passes during the writes may note more.
        var noted = catalog.takeReadinessToRecord()
        while !noted.isEmpty {
            for revision in noted {
                do {
                    if let row = try await store.markReady(revision), catalog[row.name] != nil {
                        catalog[row.name]?.row.latestReadyRevision = row.latestReadyRevision
                    }
                } catch {
                    logger.error("cannot record that revision \(revision) is ready: \(error)")
                }
            }
            noted = catalog.takeReadinessToRecord()
        }
    }
}
