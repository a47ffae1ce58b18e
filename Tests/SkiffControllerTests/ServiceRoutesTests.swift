import SkiffGateway
import SkiffModel
import Testing

@testable import SkiffController

/// The routing publication as a value: what a service's routes are, and the table changes
/// that move the gateway from one to the next.
@Suite struct ServiceRoutesTests {
    static let web: ServiceName = "web"
    static var spec: ServiceSpec {
        var spec = ServiceSpec(image: "hello:v1")
        spec.scaling.concurrency = 4
        return spec
    }

    static func backend(_ id: String, _ last: Int) -> Backend { Backend(id: id, host: "10.0.0.\(last)", port: 8080) }

    @Test func anActiveRevisionAtZeroIsRoutedSoItsRequestsQueue() {
        let routes = ServiceRoutes(
            service: Self.web, active: [("web-00001", Self.spec)],
            traffic: [ResolvedTarget(revision: "web-00001", percent: 100)],
            instances: [], previous: ServiceRoutes())
        #expect(routes.revisions["web-00001"]?.backends == [])
        #expect(routes.revisions["web-00001"]?.settings.concurrency == 4)
        #expect(routes.revisions["web-00001"]?.failed == false)
        #expect(routes.traffic == ["web": [TrafficWeight(revision: "web-00001", weight: 100)]])
    }

    @Test func onlyServingInstancesAreBackendsSortedById() {
        let routes = ServiceRoutes(
            service: Self.web, active: [("web-00001", Self.spec)],
            traffic: [ResolvedTarget(revision: "web-00001", percent: 100)],
            instances: [
                .init(revision: "web-00001", backend: Self.backend("web-00001-zzzzz", 3)),
                .init(revision: "web-00001", backend: nil),
                .init(revision: "web-00001", backend: Self.backend("web-00001-aaaaa", 2)),
            ], previous: ServiceRoutes())
        #expect(routes.revisions["web-00001"]?.backends.map(\.id) == ["web-00001-aaaaa", "web-00001-zzzzz"])
    }

    @Test func aFailedRevisionTheTrafficNamesRefusesAtOnce() {
        let routes = ServiceRoutes(
            service: Self.web, active: [], traffic: [ResolvedTarget(revision: "web-00001", percent: 100)],
            instances: [],
            previous: ServiceRoutes())
        #expect(routes.revisions["web-00001"]?.failed == true)
        #expect(routes.revisions["web-00001"]?.settings.queueDepth == 0)
    }

    @Test func aRetiredRevisionKeepsItsSettingsWhileItsInstancesDrain() {
        let first = ServiceRoutes(
            service: Self.web, active: [("web-00001", Self.spec)],
            traffic: [ResolvedTarget(revision: "web-00001", percent: 100)],
            instances: [.init(revision: "web-00001", backend: Self.backend("a", 2))], previous: ServiceRoutes())
        // web-00002 took the traffic; web-00001's instance is stopping (no backend) but not gone.
        let second = ServiceRoutes(
            service: Self.web, active: [("web-00002", ServiceSpec(image: "hello:v2"))],
            traffic: [ResolvedTarget(revision: "web-00002", percent: 100)],
            instances: [.init(revision: "web-00001", backend: nil)], previous: first)
        #expect(second.revisions["web-00001"] == .init(settings: first.revisions["web-00001"]!.settings, backends: []))
        let changes = ServiceRoutes.changes(service: "web", from: first, to: second)
        #expect(changes.count == 3)
        #expect(changes.first == .setRevision("web-00001", first.revisions["web-00001"]!.settings, []))
        #expect(
            changes.last
                == .setTraffic(service: "web", routes: ["web": [TrafficWeight(revision: "web-00002", weight: 100)]]))
        // Once its instance is gone, it leaves the table after the keys moved.
        let third = ServiceRoutes(
            service: Self.web, active: [("web-00002", ServiceSpec(image: "hello:v2"))],
            traffic: [ResolvedTarget(revision: "web-00002", percent: 100)], instances: [], previous: second)
        #expect(ServiceRoutes.changes(service: "web", from: second, to: third) == [.removeRevision("web-00001")])
    }

    @Test func nothingChangedIsNoChange() {
        let routes = ServiceRoutes(
            service: Self.web, active: [("web-00001", Self.spec)],
            traffic: [ResolvedTarget(revision: "web-00001", percent: 100)],
            instances: [.init(revision: "web-00001", backend: Self.backend("a", 2))], previous: ServiceRoutes())
        #expect(ServiceRoutes.changes(service: "web", from: routes, to: routes).isEmpty)
    }

    @Test func tagsGetTheirOwnKeysAndSplitsSumPerRevision() {
        let keys = ServiceRoutes.routingKeys(
            Self.web,
            [
                ResolvedTarget(revision: "web-00002", percent: 10, tag: "canary"),
                ResolvedTarget(revision: "web-00001", percent: 60), ResolvedTarget(revision: "web-00002", percent: 30),
            ])
        #expect(
            keys["web"] == [
                TrafficWeight(revision: "web-00002", weight: 40), TrafficWeight(revision: "web-00001", weight: 60),
            ])
        #expect(keys["canary---web"] == [TrafficWeight(revision: "web-00002", weight: 1)])
    }

    @Test func aDeletedServiceRemovesItsKeysAndRevisions() {
        let routes = ServiceRoutes(
            service: Self.web, active: [("web-00001", Self.spec)],
            traffic: [ResolvedTarget(revision: "web-00001", percent: 100)],
            instances: [], previous: ServiceRoutes())
        #expect(
            ServiceRoutes.changes(service: "web", from: routes, to: ServiceRoutes())
                == [.setTraffic(service: "web", routes: [:]), .removeRevision("web-00001")])
    }
}
