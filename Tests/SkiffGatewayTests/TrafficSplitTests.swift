import Testing

@testable import SkiffGateway

/// Weighted routing: a key split between revisions, tag keys, and atomic per-service updates.
@Suite struct TrafficSplitTests {
    let v1 = Backend(id: "v1-a", host: "10.0.0.1", port: 8080)
    let v2 = Backend(id: "v2-a", host: "10.0.0.2", port: 8080)

    private func table() -> RoutingTable {
        let table = RoutingTable()
        table.setRevision("web-00001", settings: RevisionSettings(), backends: [v1])
        table.setRevision("web-00002", settings: RevisionSettings(), backends: [v2])
        return table
    }

    /// The issue's accuracy test at the routing step: 10 000 choices at 90/10 land within ±2 %.
    @Test func ninetyTenSplitIsAccurate() throws {
        let table = self.table()
        table.setTraffic(
            service: "web",
            routes: [
                "web": [
                    TrafficWeight(revision: "web-00001", weight: 90), TrafficWeight(revision: "web-00002", weight: 10),
                ]
            ])
        let route = try #require(table.snapshot().routes["web"])
        var generator = SystemRandomNumberGenerator()
        var counts: [String: Int] = [:]
        for _ in 0..<10_000 {
            counts[route.choose(random: { generator.next() }).revision.name, default: 0] += 1
        }
        let second = counts["web-00002", default: 0]
        #expect((800...1200).contains(second), "web-00002 got \(second) of 10 000")
        #expect(counts["web-00001", default: 0] + second == 10_000)
    }

    @Test func zeroWeightGetsNothingAndSingleTargetNeedsNoRandom() throws {
        let table = self.table()
        table.setTraffic(
            service: "web",
            routes: [
                "web": [
                    TrafficWeight(revision: "web-00001", weight: 100), TrafficWeight(revision: "web-00002", weight: 0),
                ]
            ])
        let route = try #require(table.snapshot().routes["web"])
        #expect(route.targets.map(\.revision.name) == ["web-00001"])
        #expect(
            route.choose(random: {
                Issue.record("a single target must not draw")
                return 0
            }).revision.name == "web-00001")
    }

    @Test func revisionMissingFromTheTableGetsNoShare() throws {
        let table = self.table()
        table.setTraffic(
            service: "web",
            routes: [
                "web": [
                    TrafficWeight(revision: "web-00001", weight: 50), TrafficWeight(revision: "web-00009", weight: 50),
                ]
            ])
        let route = try #require(table.snapshot().routes["web"])
        #expect(route.targets.map(\.revision.name) == ["web-00001"])
    }

    /// A service's keys change in one generation: the split and its tag keys appear and go together.
    @Test func serviceTrafficIsReplacedAtomically() throws {
        let table = self.table()
        table.setTraffic(service: "web", routes: ["web": all("web-00001"), "canary---web": all("web-00001")])
        table.setTraffic(service: "other", routes: ["other": all("web-00001")])
        let before = table.generation
        table.setTraffic(
            service: "web",
            routes: [
                "web": [
                    TrafficWeight(revision: "web-00001", weight: 90), TrafficWeight(revision: "web-00002", weight: 10),
                ],
                "next---web": [TrafficWeight(revision: "web-00002", weight: 1)],
            ])
        #expect(table.generation == before + 1)
        let routes = table.snapshot().routes
        #expect(routes["web"]?.targets.map(\.revision.name) == ["web-00001", "web-00002"])
        #expect(routes["next---web"]?.targets.map(\.revision.name) == ["web-00002"])
        #expect(routes["canary---web"] == nil, "a tag left out of the new traffic is gone")
        #expect(routes["other"] != nil, "another service's key stays")

        table.setTraffic(service: "web", routes: [:])
        #expect(table.snapshot().routes["web"] == nil)
        #expect(table.snapshot().routes["next---web"] == nil)
    }

    @Test func unchangedTrafficKeepsTheRouteObject() throws {
        let table = self.table()
        let split = [
            TrafficWeight(revision: "web-00001", weight: 90), TrafficWeight(revision: "web-00002", weight: 10),
        ]
        table.setTraffic(service: "web", routes: ["web": split])
        let first = try #require(table.snapshot().routes["web"])
        table.setRevision("web-00003", settings: RevisionSettings(), backends: [])
        #expect(table.snapshot().routes["web"] === first)
        table.setRevision(
            "web-00002", settings: RevisionSettings(),
            backends: [v2, Backend(id: "v2-b", host: "10.0.0.3", port: 8080)])
        let second = try #require(table.snapshot().routes["web"])
        #expect(second !== first)
        #expect(second.targets[1].slots.count == 2)
    }

    @Test func eachRevisionOfASplitCountsItsOwnRequests() throws {
        let table = self.table()
        table.setTraffic(
            service: "web",
            routes: [
                "web": [
                    TrafficWeight(revision: "web-00001", weight: 50), TrafficWeight(revision: "web-00002", weight: 50),
                ]
            ])
        let route = try #require(table.snapshot().routes["web"])
        let one = try #require(route.targets[0].acquire(seed: 0))
        let two = try #require(route.targets[1].acquire(seed: 0))
        #expect(table.inFlight(revision: "web-00001") == 1)
        #expect(table.inFlight(revision: "web-00002") == 1)
        one.release()
        two.release()
        #expect(table.inFlight(revision: "web-00001") == 0 && table.inFlight(revision: "web-00002") == 0)
    }

    @Test func keyOwnership() {
        #expect(RoutingTable.key("web", belongsTo: "web"))
        #expect(RoutingTable.key("canary---web", belongsTo: "web"))
        #expect(!RoutingTable.key("webx", belongsTo: "web"))
        #expect(!RoutingTable.key("x-web", belongsTo: "web"))
        #expect(!RoutingTable.key("canary---x-web", belongsTo: "web"))
    }
}
