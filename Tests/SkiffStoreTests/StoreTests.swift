import Foundation
import SkiffModel
import SkiffStore
import SkiffTestSupport
import Testing

@Suite struct StoreTests {
    /// Each test has its own (Swift Testing makes a suite value per test) and removes it.
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    func open() throws -> Store {
        try Store(path: directory.path + "/skiff.db")
    }

    @Test func tagsOfARepositoryExcludeLongerNamesSharingItsPrefix() async throws {
        defer { directory.remove() }
        let store = try open()
        for name in ["127.0.0.1:5000/app:v1", "127.0.0.1:a", "127.0.0.1:b", "127.0.0.1/x:c"] {
            try await store.putImage(
                ImageSummary(
                    name: name, digest: "sha256:" + String(repeating: "0", count: 64), size: 1, createdAt: Date()))
        }
        // The pulled image's name must neither be listed nor use up the page.
        #expect(try await store.tags(repository: "127.0.0.1", limit: 2) == ["a", "b"])
        #expect(try await store.tags(repository: "127.0.0.1", after: "a") == ["b"])
    }

    @Test func deployCreatesRevisionsOnlyWhenSomethingChanged() async throws {
        defer { directory.remove() }
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

    @Test func deployAppliesTrafficOptionsAtomically() async throws {
        defer { directory.remove() }
        let store = try open()
        _ = try await store.deploy(service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a")
        // Nothing ready yet: --no-traffic has nothing to keep the traffic on, and changes nothing.
        await #expect(throws: StoreError.self) {
            try await store.deploy(
                service: "web", spec: ServiceSpec(image: "hello:v2"), imageDigest: "sha256:b",
                options: DeployOptions(noTraffic: true))
        }
        #expect(try await store.revisions(service: "web").map(\.name) == ["web-00001"])

        #expect(try await store.markReady("web-00001")?.latestReadyRevision == "web-00001")
        let second = try await store.deploy(
            service: "web", spec: ServiceSpec(image: "hello:v2"), imageDigest: "sha256:b",
            options: DeployOptions(revisionName: "web-blue", noTraffic: true, tag: "blue"))
        #expect(second.revision.name == "web-blue" && second.created)
        let row = try #require(try await store.service("web")).record
        #expect(row.latestRevision == "web-blue")
        #expect(row.traffic == [.revision("web-00001", 100), .revision("web-blue", 0, tag: "blue")])

        // Revision names are never reused; a generated one skips a number a suffix took.
        await #expect(throws: StoreError.self) {
            try await store.deploy(
                service: "web", spec: ServiceSpec(image: "hello:v3"), imageDigest: "sha256:c",
                options: DeployOptions(revisionName: "web-00001"))
        }
        _ = try await store.deploy(
            service: "web", spec: ServiceSpec(image: "hello:v3"), imageDigest: "sha256:c",
            options: DeployOptions(revisionName: "web-00003"))
        let generated = try await store.deploy(
            service: "web", spec: ServiceSpec(image: "hello:v4"), imageDigest: "sha256:d")
        #expect(generated.revision.name == "web-00004")
    }

    @Test func trafficMustNameExistingRevisions() async throws {
        defer { directory.remove() }
        let store = try open()
        _ = try await store.deploy(service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a")
        await #expect(throws: StoreError.self) { try await store.setTraffic([.revision("web-00009", 100)], of: "web") }
        let row = try await store.setTraffic([.revision("web-00001", 100)], of: "web")
        #expect(row.traffic == [.revision("web-00001", 100)])
    }

    @Test func readinessOnlyMovesForward() async throws {
        defer { directory.remove() }
        let store = try open()
        let t0 = Date(timeIntervalSince1970: 1_000)
        _ = try await store.deploy(
            service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a", at: t0)
        _ = try await store.deploy(
            service: "web", spec: ServiceSpec(image: "hello:v2"), imageDigest: "sha256:b", at: t0.addingTimeInterval(1))
        #expect(try await store.markReady("web-00002")?.latestReadyRevision == "web-00002")
        #expect(try await store.markReady("web-00001") == nil, "an older revision does not become the latest ready")
        #expect(try await store.revision(named: "web-00001")?.readyAt != nil)
    }

    @Test func oldRevisionsBeyondTheHistoryArePrunedUnlessTheyServe() async throws {
        defer { directory.remove() }
        let store = try open()
        let t0 = Date(timeIntervalSince1970: 1_000)
        for version in 1...3 {
            _ = try await store.deploy(
                service: "web", spec: ServiceSpec(image: "hello:v\(version)"), imageDigest: "sha256:a",
                keep: 2, at: t0.addingTimeInterval(Double(version)))
        }
        // web-00001 was pruned by the third deploy; pin traffic to web-00002, then deploy twice more.
        #expect(try await store.revisions(service: "web").map(\.name) == ["web-00002", "web-00003"])
        _ = try await store.setTraffic([.revision("web-00002", 100)], of: "web")
        for version in 4...5 {
            let result = try await store.deploy(
                service: "web", spec: ServiceSpec(image: "hello:v\(version)"), imageDigest: "sha256:a",
                options: DeployOptions(traffic: [.revision("web-00002", 100)]), keep: 2,
                at: t0.addingTimeInterval(Double(version)))
            #expect(!result.pruned.contains("web-00002"))
        }
        #expect(try await store.revisions(service: "web").map(\.name) == ["web-00002", "web-00004", "web-00005"])
    }

    @Test func rolloutStateIsKept() async throws {
        defer { directory.remove() }
        let store = try open()
        _ = try await store.deploy(service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a")
        // A whole second: the JSON column keeps dates to the millisecond.
        var status = RolloutStatus(
            from: "web-00001", to: "web-00002", policy: RolloutPolicy(step: 25),
            startedAt: Date(timeIntervalSince1970: 1_800_000_000))
        status.state = .progressing
        status.percent = 25
        try await store.setRollout(status, of: "web")
        #expect(try await store.service("web")?.record.rollout == status)
        try await store.setRollout(nil, of: "web")
        #expect(try await store.service("web")?.record.rollout == nil)
    }

    @Test func survivesReopen() async throws {
        defer { directory.remove() }
        do {
            let store = try open()
            _ = try await store.deploy(service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a")
            try await store.putInstance(
                Instance(id: "web-00001-abcde", service: "web", revision: "web-00001", state: .ready))
        }
        let reopened = try open()
        #expect(try await reopened.services().map(\.record.name) == ["web"])
        #expect(try await reopened.instances().map(\.state) == [.ready])
    }

    @Test func deleteRemovesRevisionsAndInstances() async throws {
        defer { directory.remove() }
        let store = try open()
        _ = try await store.deploy(service: "web", spec: ServiceSpec(image: "hello:v1"), imageDigest: "sha256:a")
        try await store.putInstance(Instance(id: "i1", service: "web", revision: "web-00001", state: .ready))
        try await store.deleteService("web")
        #expect(try await store.service("web") == nil)
        #expect(try await store.instances().isEmpty)
        #expect(try await store.revision(named: "web-00001") == nil)
    }

    @Test func tokensAreLookedUpByHash() async throws {
        defer { directory.remove() }
        let store = try open()
        try await store.addToken(id: "admin", hash: "abc", role: .admin)
        #expect(try await store.token(hash: "abc")?.role == .admin)
        #expect(try await store.token(hash: "abd") == nil)
        #expect(try await store.tokenCount() == 1)
    }
}
