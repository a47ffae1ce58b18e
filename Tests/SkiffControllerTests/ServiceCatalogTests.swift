import SkiffModel
import Testing

@testable import SkiffController

/// The services as the controller runs them: where traffic goes, which revisions run, when a
/// revision counts as the latest ready one, and what the API shows.
@Suite struct ServiceCatalogTests {
    static let web: ServiceName = "web"

    private func withFixture(_ body: (StoredState, inout ServiceCatalog) async throws -> Void) async throws {
        let fixture = try StoredState()
        defer { fixture.remove() }
        var catalog = ServiceCatalog(domain: "example.test", gatewayPort: 8080)
        try await body(fixture, &catalog)
    }

    @Test func latestTrafficWaitsForTheLatestRevisionUntilOneIsReady() async throws {
        try await withFixture { fixture, catalog in
            catalog[Self.web] = try await fixture.deploy(Self.web, fixture.spec())
            #expect(catalog.resolvedTraffic(of: Self.web).map(\.revision) == ["web-00001"])
            let firstReady = catalog.noteReady("web-00001", of: Self.web)
            #expect(firstReady)
            catalog[Self.web] = try await fixture.deploy(Self.web, fixture.spec(generation: 2))
            #expect(
                catalog.resolvedTraffic(of: Self.web).map(\.revision) == ["web-00001"],
                "latest stays on the ready revision until the new one is ready")
            let secondReady = catalog.noteReady("web-00002", of: Self.web)
            #expect(secondReady)
            #expect(catalog.resolvedTraffic(of: Self.web).map(\.revision) == ["web-00002"])
        }
    }

    @Test func onlyTheLatestRevisionBecomesLatestReadyAndOnlyOnce() async throws {
        try await withFixture { fixture, catalog in
            _ = try await fixture.deploy(Self.web, fixture.spec())
            catalog[Self.web] = try await fixture.deploy(Self.web, fixture.spec(generation: 2))
            let notLatest = catalog.noteReady("web-00001", of: Self.web)
            let noService = catalog.noteReady("web-00002", of: "other")
            let latest = catalog.noteReady("web-00002", of: Self.web)
            let again = catalog.noteReady("web-00002", of: Self.web)
            #expect([notLatest, noService, latest, again] == [false, false, true, false])
            let toRecord = catalog.takeReadinessToRecord()
            #expect(toRecord == ["web-00002"])
            let recordedTwice = catalog.takeReadinessToRecord()
            #expect(recordedTwice.isEmpty, "recorded once")
            #expect(catalog.latestReady[Self.web] == "web-00002")
        }
    }

    @Test func activeRevisionsAreTheLatestAndThoseWithTrafficOrATagButNoFailedOne() async throws {
        try await withFixture { fixture, catalog in
            _ = try await fixture.deploy(Self.web, fixture.spec())
            _ = try await fixture.deploy(Self.web, fixture.spec(generation: 2))
            catalog[Self.web] = try await fixture.deploy(
                Self.web, fixture.spec(generation: 3),
                traffic: [
                    TrafficTarget(revisionName: "web-00001", latestRevision: false, percent: 100),
                    TrafficTarget(revisionName: "web-00002", latestRevision: false, percent: 0, tag: "beta"),
                ])
            #expect(
                catalog.activeRevisions(of: Self.web).map(\.revision.name) == ["web-00003", "web-00001", "web-00002"])
            #expect(catalog.activeRevisions.map(\.revision) == ["web-00003", "web-00001", "web-00002"])
            #expect(catalog.runnable("web-00002")?.revision.name == "web-00002")

            catalog.setFailure(
                RevisionFailure(reason: .probe, message: "never answered"), of: "web-00002", service: Self.web)
            #expect(catalog.activeRevisions(of: Self.web).map(\.revision.name) == ["web-00003", "web-00001"])
            let beta = catalog.resolvedTraffic(of: Self.web).first { $0.tag == "beta" }
            #expect(beta?.url == "http://beta---web.example.test:8080/")
        }
    }

    @Test func theViewCountsServingInstancesOfTheLatestRevisionAndShowsItsFailure() async throws {
        try await withFixture { fixture, catalog in
            catalog[Self.web] = try await fixture.deploy(Self.web, fixture.spec())
            let instances = [
                Instance(id: "web-00001-aaaaa", service: Self.web, revision: "web-00001", state: .ready),
                Instance(id: "web-00001-bbbbb", service: Self.web, revision: "web-00001", state: .frozen),
                Instance(id: "web-00001-ccccc", service: Self.web, revision: "web-00001", state: .starting),
                Instance(id: "old-00001-ddddd", service: Self.web, revision: "web-00000", state: .ready),
            ]
            let view = try #require(catalog.view(of: Self.web, instances: instances, rollout: nil))
            #expect(view.readyInstances == 2)
            #expect(view.url == "http://web.example.test:8080/")
            #expect(view.latestRevisionFailure == nil)
            #expect(catalog.view(of: "other", instances: [], rollout: nil) == nil)

            let failure = RevisionFailure(reason: .crash, message: "exited 1")
            catalog.setFailure(failure, of: "web-00001", service: Self.web)
            let failed = try #require(catalog.view(of: Self.web, instances: instances, rollout: nil))
            #expect(failed.latestRevisionFailure == failure)
            #expect(failed.message?.hasPrefix("revision web-00001 failed") == true)
        }
    }

    @Test func theDefaultHTTPPortIsLeftOutOfURLs() {
        #expect(ServiceCatalog(domain: "example.test", gatewayPort: 80).url(of: "web") == "http://web.example.test/")
    }
}
