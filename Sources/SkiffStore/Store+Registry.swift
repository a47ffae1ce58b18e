public import Foundation
import GRDB
import SkiffModel

/// A manifest a repository holds, with what the referrers API needs to list it.
public struct ManifestRow: Sendable, Hashable {
    public var repository: String
    public var digest: String
    public var mediaType: String
    public var size: Int64
    /// The manifest's `artifactType`, or its config's media type for artifacts without one.
    public var artifactType: String?
    /// The digest of the manifest this one refers to (`subject`), if any.
    public var subject: String?
    public var annotations: [String: String]?
    public var createdAt: Date

    public init(
        repository: String, digest: String, mediaType: String, size: Int64, artifactType: String? = nil,
        subject: String? = nil, annotations: [String: String]? = nil, createdAt: Date = Date()
    ) {
        self.repository = repository
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.artifactType = artifactType
        self.subject = subject
        self.annotations = annotations
        self.createdAt = createdAt
    }
}

extension Store {
    /// Records a pushed manifest and, when given, points `tag` at it; one transaction.
    /// `imageSize` is what `images list` shows for the tag (manifest, config and layers).
    public func putManifest(_ manifest: ManifestRow, tag: String?, imageSize: Int64) async throws(StoreError) {
        try await write("manifest \(manifest.repository)@\(manifest.digest)") { db in
            try ManifestRecord(manifest).save(db)
            if let tag {
                try ImageRecord(
                    ImageSummary(
                        name: "\(manifest.repository):\(tag)", digest: manifest.digest, size: imageSize,
                        createdAt: manifest.createdAt)
                ).save(db)
            }
        }
    }

    public func manifest(repository: String, digest: String) async throws(StoreError) -> ManifestRow? {
        try await read("manifest \(repository)@\(digest)") { db in
            try ManifestRecord.fetchOne(db, key: ["repository": repository, "digest": digest])?.row
        }
    }

    /// The tags of `repository`, sorted, after `last` (exclusive), at most `limit`.
    public func tags(repository: String, after last: String? = nil, limit: Int? = nil) async throws(StoreError)
        -> [String]
    {
        try await read("tags of \(repository)") { db in
            let prefix = repository + ":"
            // `name` is REPOSITORY:TAG; a tag never contains ':', so the prefix is exact.
            var request = ImageRecord.filter(Column("name") > prefix && Column("name") < prefix + "\u{10FFFF}")
            // `127.0.0.1` is a valid repository name and a prefix of pulled images'
            // `127.0.0.1:5000/app:v1`: what follows the prefix must be a bare tag. Filtered
            // in SQL, before the limit, so pages stay full.
            request = request.filter(
                sql: "instr(substr(name, ?), ':') = 0 AND instr(substr(name, ?), '/') = 0",
                arguments: [prefix.utf8.count + 1, prefix.utf8.count + 1])
            if let last { request = request.filter(Column("name") > prefix + last) }
            request = request.order(Column("name"))
            if let limit { request = request.limit(limit) }
            return try request.fetchAll(db).map { String($0.name.dropFirst(prefix.count)) }
        }
    }

    /// Whether the repository holds anything (a manifest or a tag).
    public func repositoryExists(_ repository: String) async throws(StoreError) -> Bool {
        try await read("repository \(repository)") { db in
            try ManifestRecord.filter(Column("repository") == repository).fetchCount(db) > 0
        }
    }

    /// The digest a tag points at, or nil.
    public func tagDigest(repository: String, tag: String) async throws(StoreError) -> String? {
        try await image(named: "\(repository):\(tag)")?.digest
    }

    /// Removes one tag; true when it existed.
    @discardableResult
    public func deleteTag(repository: String, tag: String) async throws(StoreError) -> Bool {
        try await write("tag \(repository):\(tag)") { db in
            try ImageRecord.deleteOne(db, key: "\(repository):\(tag)")
        }
    }

    /// Removes a manifest from a repository with every tag of that repository pointing at it;
    /// true when it existed.
    @discardableResult
    public func deleteManifest(repository: String, digest: String) async throws(StoreError) -> Bool {
        try await write("manifest \(repository)@\(digest)") { db in
            let prefix = repository + ":"
            try ImageRecord
                .filter(Column("digest") == digest && Column("name") > prefix && Column("name") < prefix + "\u{10FFFF}")
                .deleteAll(db)
            return try ManifestRecord.deleteOne(db, key: ["repository": repository, "digest": digest])
        }
    }

    /// Manifests of `repository` whose subject is `digest`, optionally of one artifact type.
    public func referrers(repository: String, subject digest: String, artifactType: String? = nil)
        async throws(StoreError)
        -> [ManifestRow]
    {
        try await read("referrers of \(digest)") { db in
            var request = ManifestRecord.filter(Column("repository") == repository && Column("subject") == digest)
            if let artifactType { request = request.filter(Column("artifactType") == artifactType) }
            return try request.order(Column("createdAt"), Column("digest")).fetchAll(db).map(\.row)
        }
    }

    /// Every manifest digest any repository holds or any tag names: what garbage collection keeps.
    public func referencedManifestDigests() async throws(StoreError) -> Set<String> {
        try await read("manifests") { db in
            Set(try String.fetchAll(db, sql: "SELECT digest FROM manifest UNION SELECT digest FROM image"))
        }
    }
}

extension Store {
    /// Saves the credentials used to pull from `host` (replacing earlier ones).
    public func putRegistryCredential(host: String, username: String, password: String) async throws(StoreError) {
        try await write("credentials for \(host)") { db in
            try db.execute(
                sql:
                    "INSERT OR REPLACE INTO registryCredential (host, username, password, createdAt) VALUES (?, ?, ?, ?)",
                arguments: [host.lowercased(), username, password, Date()])
        }
    }

    public func registryCredential(host: String) async throws(StoreError) -> (username: String, password: String)? {
        try await read("credentials for \(host)") { db in
            try Row.fetchOne(
                db, sql: "SELECT username, password FROM registryCredential WHERE host = ?",
                arguments: [host.lowercased()]
            )
            .map { (username: $0["username"] as String, password: $0["password"] as String) }
        }
    }

    @discardableResult
    public func deleteRegistryCredential(host: String) async throws(StoreError) -> Bool {
        try await write("credentials for \(host)") { db in
            try db.execute(sql: "DELETE FROM registryCredential WHERE host = ?", arguments: [host.lowercased()])
            return db.changesCount > 0
        }
    }
}
