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

    func read<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await database.read(body)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.database, "cannot read \(what)", cause: error)
        }
    }

    func write<T: Sendable>(_ what: String, _ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
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
    public func addToken(id: String, hash: String, role: String, repositories: [String]? = nil) async throws(StoreError) {
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
        try await read("tokens") { db in try TokenRecord.order(Column("createdAt"), Column("id")).fetchAll(db).map(\.summary) }
    }

    /// Removes a token; true when it existed.
    @discardableResult
    public func deleteToken(id: String) async throws(StoreError) -> Bool {
        try await write("token \(id)") { db in try TokenRecord.deleteOne(db, key: id) }
    }

    /// The role of the token with this hash, or nil.
    public func tokenRole(hash: String) async throws(StoreError) -> String? {
        try await read("token") { db in
            try TokenRecord.filter(Column("hash") == hash).fetchOne(db)?.role
        }
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

    /// Creates the service or records a new revision of it, atomically.
    ///
    /// Returns the revision now serving and whether it is new: an unchanged spec resolving to
    /// the same digest keeps the current revision, as Knative does.
    public func deploy(
        service name: ServiceName, spec: ServiceSpec, imageDigest: String, at now: Date = Date()
    ) async throws(StoreError) -> (revision: Revision, created: Bool) {
        try await write("service \(name)") { db in
            if var existing = try ServiceRecord.fetchOne(db, key: name.rawValue) {
                if let current = try RevisionRecord.fetchOne(db, key: existing.latestRevision),
                    current.spec == spec, current.imageDigest == imageDigest
                {
                    return (try current.revision(), false)
                }
                existing.generation += 1
                let revision = Revision(
                    name: Revision.name(service: name, generation: existing.generation), service: name, spec: spec,
                    imageDigest: imageDigest, createdAt: now)
                existing.spec = spec
                existing.latestRevision = revision.name
                existing.updatedAt = now
                try RevisionRecord(revision).insert(db)
                try existing.update(db)
                return (revision, true)
            }
            let revision = Revision(
                name: Revision.name(service: name, generation: 1), service: name, spec: spec, imageDigest: imageDigest,
                createdAt: now)
            try RevisionRecord(revision).insert(db)
            try ServiceRecord(
                name: name.rawValue, spec: spec, latestRevision: revision.name, generation: 1, createdAt: now,
                updatedAt: now
            ).insert(db)
            return (revision, true)
        }
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

    init(_ record: ServiceRecord) throws {
        self.name = try ServiceName(record.name)
        self.spec = record.spec
        self.latestRevision = record.latestRevision
        self.generation = record.generation
        self.createdAt = record.createdAt
        self.updatedAt = record.updatedAt
    }
}
