public import Foundation
import GRDB
public import SkiffModel

/// Every resource Skiff keeps, in one SQLite database (WAL) under the data directory.
///
/// All SQL in the project lives in this module. Methods are async and run on GRDB's own
/// queue, so callers never block an event loop or the cooperative pool on disk I/O.
public final class Store: Sendable {
    private let database: DatabasePool

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public init(path: String) throws(StoreError) {
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            self.database = try DatabasePool(path: path, configuration: configuration)
            try Migrations.migrator().migrate(database)
        } catch {
            throw StoreError(.database, "cannot open database \(path)", cause: error)
        }
    }

    func read<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError)
        -> T
    {
        do {
            return try await database.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.database, "cannot read \(what)", cause: error)
        }
    }

    func write<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError)
        -> T
    {
        do {
            return try await database.write(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.database, "cannot write \(what)", cause: error)
        }
    }

    // MARK: Tokens

    /// Records a token by its hash only; the token itself is never stored.
    public func addToken(id: String, hash: String, role: TokenRole, repositories: [String]? = nil)
        async throws(StoreError)
    {
        try await write("token") { db in
            try TokenRecord(id: id, hash: hash, role: role, createdAt: Date(), repositories: repositories).insert(db)
        }
    }

    /// The token with this hash (its role and scope), or nil.
    public func token(hash: String) async throws(StoreError) -> TokenSummary? {
        try await read("token") { db in
            try TokenRecord.filter(Column("hash") == hash).fetchOne(db)?.summary
        }
    }

    public func tokens() async throws(StoreError) -> [TokenSummary] {
        try await read("tokens") { db in
            try TokenRecord.order(Column("createdAt"), Column("id")).fetchAll(db).map(\.summary)
        }
    }

    /// Removes a token; true when it existed.
    @discardableResult
    public func deleteToken(id: String) async throws(StoreError) -> Bool {
        try await write("token \(id)") { db in try TokenRecord.deleteOne(db, key: id) }
    }

    public func tokenCount() async throws(StoreError) -> Int {
        try await read("tokens") { db in try TokenRecord.fetchCount(db) }
    }

    // MARK: Images

    public func putImage(_ image: ImageSummary) async throws(StoreError) {
        try await write("image \(image.name)") { db in try ImageRecord(image).save(db) }
    }

    public func image(named name: String) async throws(StoreError) -> ImageSummary? {
        try await read("image \(name)") { db in try ImageRecord.fetchOne(db, key: name)?.summary }
    }

    public func images() async throws(StoreError) -> [ImageSummary] {
        try await read("images") { db in try ImageRecord.order(Column("name")).fetchAll(db).map(\.summary) }
    }

    // MARK: Services and revisions

    /// Creates the service or records a new revision of it, and sets its traffic, atomically.
    ///
    /// An unchanged spec resolving to the same digest keeps the current revision, as Knative
    /// does, unless `options` names a new revision. Traffic follows
    /// ``Swift/Array/afterDeploy(of:options:latestReady:)``; every revision it names must
    /// exist. Revisions beyond the `keep` newest that serve nothing are deleted.
    ///
    /// `latestReady` is the caller's newer knowledge of the latest ready revision, if any.
    ///
    /// Returns the latest revision, whether it is new, and the revisions pruned.
    public func deploy(
        service name: ServiceName, spec: ServiceSpec, imageDigest: String, options: DeployOptions = DeployOptions(),
        latestReady: String? = nil, keep: Int = Store.revisionHistory, at now: Date = Date()
    ) async throws(StoreError) -> (revision: Revision, created: Bool, pruned: [String]) {
        try await write("service \(name)") { db in
            var record = try ServiceRecord.fetchOne(db, key: name.rawValue)
            let current = try record.flatMap { try RevisionRecord.fetchOne(db, key: $0.latestRevision) }
            let unchanged = current.map { $0.spec == spec && $0.imageDigest == imageDigest } ?? false
            let revision: Revision
            var created = false
            if let current, unchanged, options.revisionName == nil || options.revisionName == current.name {
                revision = try current.revision()
            } else {
                var generation = (record?.generation ?? 0) + 1
                // A generated name skips numbers a --revision-suffix took.
                while options.revisionName == nil,
                    try RevisionRecord.fetchOne(db, key: Revision.name(service: name, generation: generation)) != nil
                {
                    generation += 1
                }
                let revisionName = options.revisionName ?? Revision.name(service: name, generation: generation)
                if try RevisionRecord.fetchOne(db, key: revisionName) != nil {
                    throw StoreError(
                        .conflict,
                        "revision \(revisionName) already exists; revisions are immutable, so choose another suffix")
                }
                revision = Revision(
                    name: revisionName, service: name, spec: spec, imageDigest: imageDigest, createdAt: now)
                try RevisionRecord(revision).insert(db)
                created = true
                if var existing = record {
                    existing.generation = generation
                    existing.spec = spec
                    existing.latestRevision = revision.name
                    existing.updatedAt = now
                    record = existing
                } else {
                    record = ServiceRecord(
                        name: name.rawValue, spec: spec, latestRevision: revision.name, generation: generation,
                        createdAt: now, updatedAt: now)
                }
            }
            guard var record else { throw StoreError(.internalInvariant, "service \(name) has no record") }
            if let latestReady { record.latestReadyRevision = latestReady }
            let traffic: [TrafficTarget]
            do throws(ModelError) {
                traffic = try (record.traffic ?? TrafficTarget.allToLatest).afterDeploy(
                    of: revision.name, options: options, latestReady: record.latestReadyRevision)
            } catch {
                throw StoreError(.invalid, error.message)
            }
            try Self.checkRevisionsExist(traffic, of: name, db)
            record.traffic = traffic
            record.updatedAt = now
            try record.save(db)
            let pruned = try Self.prune(record, keep: keep, db)
            return (revision, created, pruned)
        }
    }

    /// How many revisions of a service are kept for rollback (those serving traffic are
    /// kept whatever their age).
    public static let revisionHistory = 20

    /// Replaces a service's traffic; every revision it names must exist.
    public func setTraffic(_ traffic: [TrafficTarget], of name: ServiceName, at now: Date = Date())
        async throws(StoreError) -> ServiceRow
    {
        try await write("traffic of \(name)") { db in
            guard var record = try ServiceRecord.fetchOne(db, key: name.rawValue) else {
                throw StoreError(.notFound, "service \"\(name)\" not found")
            }
            try Self.checkRevisionsExist(traffic, of: name, db)
            record.traffic = traffic
            record.updatedAt = now
            try record.update(db)
            return try ServiceRow(record)
        }
    }

    /// Records that `revision` became ready; it becomes its service's latest ready revision
    /// if it is newer than the one recorded. Returns the service's row when that changed.
    public func markReady(_ revision: String, at now: Date = Date()) async throws(StoreError) -> ServiceRow? {
        try await write("revision \(revision)") { db in
            guard var stored = try RevisionRecord.fetchOne(db, key: revision) else { return nil }
            if stored.readyAt == nil {
                stored.readyAt = now
                try stored.update(db)
            }
            guard var record = try ServiceRecord.fetchOne(db, key: stored.service),
                record.latestReadyRevision != revision
            else { return nil }
            if let current = record.latestReadyRevision, let previous = try RevisionRecord.fetchOne(db, key: current),
                (previous.createdAt, previous.name) > (stored.createdAt, stored.name)
            {
                return nil
            }
            record.latestReadyRevision = revision
            try record.update(db)
            return try ServiceRow(record)
        }
    }

    /// Records a service's rollout state, so a restarted server resumes it.
    public func setRollout(_ rollout: RolloutStatus?, of name: ServiceName) async throws(StoreError) {
        try await write("rollout of \(name)") { db in
            guard var record = try ServiceRecord.fetchOne(db, key: name.rawValue) else { return }
            record.rollout = rollout
            try record.update(db)
        }
    }

    /// Records why a revision never became ready.
    public func markFailed(_ revision: String, _ failure: RevisionFailure) async throws(StoreError) {
        try await write("revision \(revision)") { db in
            guard var stored = try RevisionRecord.fetchOne(db, key: revision) else { return }
            stored.failure = failure
            try stored.update(db)
        }
    }

    private static func checkRevisionsExist(_ traffic: [TrafficTarget], of service: ServiceName, _ db: Database) throws
    {
        for name in traffic.revisionNames {
            guard let revision = try RevisionRecord.fetchOne(db, key: name), revision.service == service.rawValue else {
                throw StoreError(.invalid, "traffic names revision \(name), which service \(service) does not have")
            }
        }
    }

    /// Deletes the oldest revisions beyond `keep` that nothing refers to.
    private static func prune(_ record: ServiceRecord, keep: Int, _ db: Database) throws -> [String] {
        let newestFirst = try RevisionRecord.filter(Column("service") == record.name)
            .order(Column("createdAt").desc, Column("name").desc).fetchAll(db)
        guard newestFirst.count > keep else { return [] }
        var protected = Set((record.traffic ?? []).revisionNames)
        protected.insert(record.latestRevision)
        if let ready = record.latestReadyRevision { protected.insert(ready) }
        var pruned: [String] = []
        for revision in newestFirst.dropFirst(keep) where !protected.contains(revision.name) {
            if try InstanceRecord.filter(Column("revision") == revision.name).fetchCount(db) > 0 { continue }
            try revision.delete(db)
            pruned.append(revision.name)
        }
        return pruned
    }

    /// A service with its latest revision, or nil.
    public func service(_ name: ServiceName) async throws(StoreError) -> (record: ServiceRow, revision: Revision)? {
        try await read("service \(name)") { db in
            guard let record = try ServiceRecord.fetchOne(db, key: name.rawValue),
                let revision = try RevisionRecord.fetchOne(db, key: record.latestRevision)
            else { return nil }
            return (try ServiceRow(record), try revision.revision())
        }
    }

    /// Every service with its latest revision, by name.
    public func services() async throws(StoreError) -> [(record: ServiceRow, revision: Revision)] {
        try await read("services") { db in
            try ServiceRecord.order(Column("name")).fetchAll(db).compactMap { record in
                guard let revision = try RevisionRecord.fetchOne(db, key: record.latestRevision) else { return nil }
                return (try ServiceRow(record), try revision.revision())
            }
        }
    }

    /// Removes the service, its revisions and its instance records.
    public func deleteService(_ name: ServiceName) async throws(StoreError) {
        try await write("service \(name)") { db in
            _ = try InstanceRecord.filter(Column("service") == name.rawValue).deleteAll(db)
            _ = try RevisionRecord.filter(Column("service") == name.rawValue).deleteAll(db)
            _ = try ServiceRecord.deleteOne(db, key: name.rawValue)
        }
    }

    public func revision(named name: String) async throws(StoreError) -> Revision? {
        try await read("revision \(name)") { db in try RevisionRecord.fetchOne(db, key: name)?.revision() }
    }

    /// Revisions of one service, or of all, oldest first.
    public func revisions(service: ServiceName? = nil) async throws(StoreError) -> [Revision] {
        try await read("revisions") { db in
            var query = RevisionRecord.all()
            if let service { query = query.filter(Column("service") == service.rawValue) }
            return try query.order(Column("service"), Column("createdAt"), Column("name")).fetchAll(db)
                .map { try $0.revision() }
        }
    }

    /// Removes one revision's record; false if there was none.
    public func deleteRevision(named name: String) async throws(StoreError) -> Bool {
        try await write("revision \(name)") { db in try RevisionRecord.deleteOne(db, key: name) }
    }

    /// Digests that revisions still run: a garbage collector must keep them.
    public func revisionImageDigests() async throws(StoreError) -> Set<String> {
        try await read("revisions") { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT imageDigest FROM revision"))
        }
    }

    // MARK: Instances

    public func putInstance(_ instance: Instance) async throws(StoreError) {
        try await write("instance \(instance.id)") { db in try InstanceRecord(instance).save(db) }
    }

    public func deleteInstance(id: String) async throws(StoreError) {
        try await write("instance \(id)") { db in _ = try InstanceRecord.deleteOne(db, key: id) }
    }

    public func instances(service: ServiceName? = nil) async throws(StoreError) -> [Instance] {
        try await read("instances") { db in
            var request = InstanceRecord.order(Column("service"), Column("startedAt"), Column("id"))
            if let service { request = request.filter(Column("service") == service.rawValue) }
            return try request.fetchAll(db).map { try $0.instance() }
        }
    }
}

/// The stored part of a service: what `Service` in the API is built from.
public struct ServiceRow: Sendable, Hashable {
    public var name: ServiceName
    public var spec: ServiceSpec
    public var latestRevision: String
    public var generation: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var traffic: [TrafficTarget]
    /// The newest revision that became ready; `latest` traffic goes there.
    public var latestReadyRevision: String?
    /// The latest gradual rollout, in progress or how it ended.
    public var rollout: RolloutStatus?

    init(_ record: ServiceRecord) throws {
        self.name = try ServiceName(record.name)
        self.spec = record.spec
        self.latestRevision = record.latestRevision
        self.generation = record.generation
        self.createdAt = record.createdAt
        self.updatedAt = record.updatedAt
        self.traffic = record.traffic ?? TrafficTarget.allToLatest
        self.latestReadyRevision = record.latestReadyRevision
        self.rollout = record.rollout
    }
}
