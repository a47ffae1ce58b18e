import Foundation
import GRDB
import SkiffModel

// Row types: the only place that knows how resources are laid out in SQLite.

struct TokenRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "token"
    var id: String
    var hash: String
    /// Stored as its raw value (`admin`, `write`, `read`).
    var role: TokenRole
    var createdAt: Date
    var repositories: [String]?

    var summary: TokenSummary {
        TokenSummary(id: id, role: role, repositories: repositories, createdAt: createdAt)
    }
}

struct ImageRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "image"
    var name: String
    var digest: String
    var size: Int64
    var createdAt: Date

    init(_ image: ImageSummary) {
        self.name = image.name
        self.digest = image.digest
        self.size = image.size
        self.createdAt = image.createdAt
    }

    var summary: ImageSummary { ImageSummary(name: name, digest: digest, size: size, createdAt: createdAt) }
}

struct ServiceRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "service"
    var name: String
    var spec: ServiceSpec
    var latestRevision: String
    var generation: Int
    var createdAt: Date
    var updatedAt: Date
    var traffic: [TrafficTarget]?
    var latestReadyRevision: String?
    var rollout: RolloutStatus?
}

struct RevisionRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "revision"
    var name: String
    var service: String
    var spec: ServiceSpec
    var imageDigest: String
    var createdAt: Date
    var readyAt: Date?
    var failure: RevisionFailure?

    init(_ revision: Revision) {
        self.name = revision.name
        self.service = revision.service.rawValue
        self.spec = revision.spec
        self.imageDigest = revision.imageDigest
        self.createdAt = revision.createdAt
        self.readyAt = revision.readyAt
        self.failure = revision.failure
    }

    func revision() throws -> Revision {
        Revision(
            name: name, service: try ServiceName(service), spec: spec, imageDigest: imageDigest, createdAt: createdAt,
            readyAt: readyAt, failure: failure)
    }
}

struct InstanceRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "instance"
    var id: String
    var service: String
    var revision: String
    var state: String
    var address: String?
    var startedAt: Date?
    var restarts: Int
    var message: String?

    init(_ instance: Instance) {
        self.id = instance.id
        self.service = instance.service.rawValue
        self.revision = instance.revision
        self.state = instance.state.rawValue
        self.address = instance.address
        self.startedAt = instance.startedAt
        self.restarts = instance.restarts
        self.message = instance.message
    }

    func instance() throws -> Instance {
        guard let state = InstanceState(rawValue: state) else {
            throw StoreError(.corrupt, "instance \(id) has unknown state \"\(self.state)\"")
        }
        return Instance(
            id: id, service: try ServiceName(service), revision: revision, state: state, address: address,
            startedAt: startedAt, restarts: restarts, message: message)
    }
}

struct ManifestRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "manifest"
    var repository: String
    var digest: String
    var mediaType: String
    var size: Int64
    var artifactType: String?
    var subject: String?
    var annotations: [String: String]?
    var createdAt: Date

    init(_ row: ManifestRow) {
        self.repository = row.repository
        self.digest = row.digest
        self.mediaType = row.mediaType
        self.size = row.size
        self.artifactType = row.artifactType
        self.subject = row.subject
        self.annotations = row.annotations
        self.createdAt = row.createdAt
    }

    var row: ManifestRow {
        ManifestRow(
            repository: repository, digest: digest, mediaType: mediaType, size: size, artifactType: artifactType,
            subject: subject, annotations: annotations, createdAt: createdAt)
    }
}
