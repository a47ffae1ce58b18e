import SkiffGateway
import SkiffModel
import Testing

@testable import SkiffController

/// What the routing table is told: every change once, nothing when nothing changed, and the
/// revisions of a deleted service removed.
@Suite struct RoutePublicationTests {
    static let web: ServiceName = "web"

    static func supervised(_ id: String, _ state: InstanceState, stopping: Bool = false) -> Controller.Supervised {
        var instance = Instance(id: id, service: web, revision: "web-00001", state: state)
        instance.address = "10.0.0.2:8080"
        return Controller.Supervised(instance: instance, stopRequested: stopping)
    }

    @Test func eachChangeIsPublishedOnceAndOnlyServingInstancesAreBackends() async throws {
        let fixture = try StoredState()
        defer { fixture.remove() }
        var catalog = ServiceCatalog(domain: "example.test", gatewayPort: 8080)
        catalog[Self.web] = try await fixture.deploy(Self.web, fixture.spec(concurrency: 2))
        var publication = RoutePublication()

        let first = publication.publish(catalog, instances: [Self.supervised("web-00001-aaaaa", .starting)])
        #expect(first.count == 1, "one step for the one service")
        #expect(first.first?.contains { if case .setRevision("web-00001", _, []) = $0 { true } else { false } } == true)
        let unchanged = publication.publish(catalog, instances: [Self.supervised("web-00001-aaaaa", .starting)])
        #expect(unchanged.isEmpty)

        let ready = publication.publish(catalog, instances: [Self.supervised("web-00001-aaaaa", .ready)])
        let backends = ready.flatMap { $0 }.compactMap { change -> [Backend]? in
            if case .setRevision(_, _, let backends) = change { backends } else { nil }
        }
        #expect(backends == [[Backend(id: "web-00001-aaaaa", host: "10.0.0.2", port: 8080)]])

        let stopping = publication.publish(
            catalog, instances: [Self.supervised("web-00001-aaaaa", .ready, stopping: true)])
        #expect(
            stopping.flatMap { $0 }.contains { if case .setRevision(_, _, []) = $0 { true } else { false } },
            "an instance being stopped takes no new requests")
    }

    @Test func aDeletedServiceHasItsRevisionsRemoved() async throws {
        let fixture = try StoredState()
        defer { fixture.remove() }
        var catalog = ServiceCatalog(domain: "example.test", gatewayPort: 8080)
        catalog[Self.web] = try await fixture.deploy(Self.web, fixture.spec())
        var publication = RoutePublication()
        _ = publication.publish(catalog, instances: [])
        catalog[Self.web] = nil
        let changes = publication.publish(catalog, instances: []).flatMap { $0 }
        #expect(changes.contains(.removeRevision("web-00001")))
        let after = publication.publish(catalog, instances: [])
        #expect(after.isEmpty, "forgotten once removed")
    }

    @Test func anAddressIsABackendOnlyWithAPort() {
        var instance = Instance(id: "i", service: Self.web, revision: "web-00001", state: .ready)
        instance.address = "10.0.0.2:8080"
        #expect(RoutePublication.backend(for: instance) == Backend(id: "i", host: "10.0.0.2", port: 8080))
        instance.address = "10.0.0.2"
        #expect(RoutePublication.backend(for: instance) == nil)
        instance.address = nil
        #expect(RoutePublication.backend(for: instance) == nil)
    }
}
