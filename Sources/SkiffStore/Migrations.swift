import GRDB

/// The schema, as an ordered list of migrations. Never edit a shipped migration: add one.
enum Migrations {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-core") { db in
            try db.create(table: "token") { t in
                t.primaryKey("id", .text)
                t.column("hash", .text).notNull().unique()
                t.column("role", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "image") { t in
                t.primaryKey("name", .text)
                t.column("digest", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "service") { t in
                t.primaryKey("name", .text)
                t.column("spec", .jsonText).notNull()
                t.column("latestRevision", .text).notNull()
                t.column("generation", .integer).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "revision") { t in
                t.primaryKey("name", .text)
                t.column("service", .text).notNull().indexed()
                t.column("spec", .jsonText).notNull()
                t.column("imageDigest", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "instance") { t in
                t.primaryKey("id", .text)
                t.column("service", .text).notNull().indexed()
                t.column("revision", .text).notNull()
                t.column("state", .text).notNull()
                t.column("address", .text)
                t.column("startedAt", .datetime)
                t.column("restarts", .integer).notNull()
                t.column("message", .text)
            }
        }
        // The registry: which manifests each repository holds, and what they refer to.
        // Tags stay in `image` as `REPOSITORY:TAG`, so pushed and loaded images are one list.
        migrator.registerMigration("v2-registry") { db in
            try db.create(table: "manifest") { t in
                t.column("repository", .text).notNull()
                t.column("digest", .text).notNull()
                t.column("mediaType", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("artifactType", .text)
                t.column("subject", .text).indexed()
                t.column("annotations", .jsonText)
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["repository", "digest"])
            }
        }
        // Credentials for pulling through from other registries. The database file is 0600;
        // the password is never returned by the API or logged.
        migrator.registerMigration("v3-registry-credentials") { db in
            try db.create(table: "registryCredential") { t in
                t.primaryKey("host", .text)
                t.column("username", .text).notNull()
                t.column("password", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
        }
        // Tokens limited to some repositories (registry tokens); NULL means every repository.
        migrator.registerMigration("v4-token-scope") { db in
            try db.alter(table: "token") { t in
                t.add(column: "repositories", .jsonText)
            }
        }
        // Traffic splits and revision readiness. NULL traffic means all to the latest ready
        // revision, as every service before this migration routed.
        migrator.registerMigration("v5-traffic") { db in
            try db.alter(table: "service") { t in
                t.add(column: "traffic", .jsonText)
                t.add(column: "latestReadyRevision", .text)
            }
            try db.alter(table: "revision") { t in
                t.add(column: "readyAt", .datetime)
            }
        }
        // Why a revision never became ready.
        migrator.registerMigration("v6-revision-failure") { db in
            try db.alter(table: "revision") { t in
                t.add(column: "failure", .jsonText)
            }
        }
        // The latest gradual rollout of a service, so a restart resumes it.
        migrator.registerMigration("v7-rollout") { db in
            try db.alter(table: "service") { t in
                t.add(column: "rollout", .jsonText)
            }
        }
        return migrator
    }
}
