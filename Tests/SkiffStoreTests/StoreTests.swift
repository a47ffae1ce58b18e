import Foundation
import SkiffModel
import SkiffStore
import Testing

@Suite struct StoreTests {
    let directory = NSTemporaryDirectory() + "skiff-store-\(UUID().uuidString)"

    func open() throws -> Store {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try Store(path: directory + "/skiff.db")
    }

    @Test func tagsOfARepositoryExcludeLongerNamesSharingItsPrefix() async throws {
        let store = try open()
        for name in ["127.0.0.1:5000/app:v1", "127.0.0.1:a", "127.0.0.1:b", "127.0.0.1/x:c"] {
            try await store.putImage(ImageSummary(name: name, digest: "sha256:" + String(repeating: "0", count: 64), size: 1, createdAt: Date()))
        }
        // The pulled image's name must neither be listed nor use up the page.
        #expect(try await store.tags(repository: "127.0.0.1", limit: 2) == ["a", "b"])
        #expect(try await store.tags(repository: "127.0.0.1", after: "a") == ["b"])
    }

    @Test func deployCreatesRevisionsOnlyWhenSomethingChanged() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try open()
        let spec = ServiceSpec(image: "hello:v1")
        let first = try await store.deploy(service: "web", spec: spec, imageDigest: "sha256:a")
        #expect(first.created && first.revision.name == "web-00001")
        let same = try await store.deploy(service: "web", spec: spec, imageDigest: "sha256:a")
        #expect(!same.created && same.revision.name == "web-00001")
        let newDigest = try await store.deploy(service: "web", spec: spec, imageDigest: "sha256:b")
        #expect(newDigest.created && newDigest.revision.name == "web-00002")
        var changed = spec
        changed.minInstances = 2
        let newSpec = try await store.deploy(service: "web", spec: changed, imageDigest: "sha256:b")
        #expect(newSpec.revision.name == "web-00003")
        let service = try #require(try await store.service("web"))
        #expect(service.record.latestRevision == "web-00003")
        #expect(service.revision.spec.minInstances == 2)
        #expect(try await store.revision(named: "web-00001")?.imageDigest == "sha256:a")
    }

    @Test func survivesReopen() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let store = try open()
            _ = try await store.deploy(service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a")
            try await store.putInstance(Instance(id: "web-00001-abcde", service: "web", revision: "web-00001", state: .ready))
        }
        let reopened = try open()
        #expect(try await reopened.services().map(\.record.name) == ["web"])
        #expect(try await reopened.instances().map(\.state) == [.ready])
    }

    @Test func deleteRemovesRevisionsAndInstances() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try open()
        _ = try await store.deploy(service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a")
        try await store.putInstance(Instance(id: "i1", service: "web", revision: "web-00001", state: .ready))
        try await store.deleteService("web")
        #expect(try await store.service("web") == nil)
        #expect(try await store.instances().isEmpty)
        #expect(try await store.revision(named: "web-00001") == nil)
    }

    @Test func tokensAreLookedUpByHash() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try open()
        try await store.addToken(id: "admin", hash: "abc", role: "admin")
        #expect(try await store.tokenRole(hash: "abc") == "admin")
        #expect(try await store.tokenRole(hash: "abd") == nil)
        #expect(try await store.tokenCount() == 1)
    }
}
