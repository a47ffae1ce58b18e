import Testing

@testable import SkiffGateway

@Suite("RoutingTable")
struct RoutingTableTests {
    let a = Backend(id: "a", host: "10.0.0.1", port: 8080)
    let b = Backend(id: "b", host: "10.0.0.2", port: 8080)

    @Test func publishesNewGenerationOnEveryChange() {
        let table = RoutingTable()
        let start = table.generation
        table.route("hello", to: "hello-00001", backends: [self.a])
        let afterSet = table.generation
        #expect(afterSet > start)
        table.setTraffic(service: "hello", routes: [:])
        let afterRemove = table.generation
        #expect(afterRemove > afterSet)
        table.setTraffic(service: "unknown", routes: [:])
        table.setTraffic(service: "hello", routes: [:])
        #expect(table.generation == afterRemove, "nothing changed, nothing published")
        #expect(table.snapshot().routes.isEmpty)
    }

    @Test func distinguishesUnknownFromEmptyService() {
        let table = RoutingTable()
        table.route("Idle", to: "idle-00001", backends: [])
        #expect(table.snapshot().routes["idle"]?.slots.isEmpty == true)
        #expect(table.snapshot().routes["other"] == nil)
    }

    @Test func keepsCountersAcrossUpdatesOfTheSameBackend() throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [self.a])
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        slot.acquire()
        table.route("hello", to: "hello-00001", backends: [self.a, self.b])
        let again = try #require(table.snapshot().routes["hello"]?.slots.first { $0.backend.id == "a" })
        #expect(again === slot)
        #expect(table.inFlight(backendID: "a") == 1)
        #expect(table.inFlight(revision: "hello-00001") == 1)
        slot.release()
        #expect(table.inFlight(revision: "hello-00001") == 0)
    }

    @Test func sharesOneCounterBetweenServiceAndTagRoutes() throws {
        let table = RoutingTable()
        table.setRevision("hello-00001", settings: RevisionSettings(), backends: [self.a])
        table.setTraffic(service: "hello", routes: ["hello": all("hello-00001"), "v1---hello": all("hello-00001")])
        let routes = table.snapshot().routes
        let main = try #require(routes["hello"]?.slots.first)
        let tagged = try #require(routes["v1---hello"]?.slots.first)
        #expect(main === tagged)
    }

    @Test func removedBackendKeepsCountingUntilDrained() throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [self.a, self.b])
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first { $0.backend.id == "a" })
        slot.acquire()
        table.route("hello", to: "hello-00001", backends: [self.b])
        #expect(slot.isRetired)
        #expect(table.snapshot().routes["hello"]?.slots.map(\.backend.id) == ["b"])
        #expect(table.inFlight(backendID: "a") == 1)
        let draining = table.sample().first?.instances.first { $0.backendID == "a" }
        #expect(draining?.draining == true && draining?.inFlight == 1)
        slot.release()
        #expect(table.inFlight(backendID: "a") == 0)
        #expect(table.sample().first?.instances.map(\.backendID) == ["b"], "a drained instance is forgotten")
    }

    @Test func removedRevisionDrainsToo() throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [self.a])
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        slot.acquire()
        table.setTraffic(service: "hello", routes: [:])
        table.removeRevision("hello-00001")
        #expect(table.inFlight(revision: "hello-00001") == 1)
        #expect(table.inFlight(backendID: "a") == 1)
        slot.release()
        #expect(table.inFlight(backendID: "a") == 0)
        #expect(table.sample().isEmpty)
    }

    @Test func readdedBackendIsRevived() throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [self.a])
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        slot.acquire()
        table.route("hello", to: "hello-00001", backends: [])
        #expect(slot.isRetired)
        table.route("hello", to: "hello-00001", backends: [self.a])
        let again = try #require(table.snapshot().routes["hello"]?.slots.first)
        #expect(again === slot)
        #expect(!again.isRetired)
        slot.release()
    }

    @Test func movedBackendGetsNewSlot() throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [self.a])
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        var moved = self.a
        moved.port = 9090
        table.route("hello", to: "hello-00001", backends: [moved])
        let replacement = try #require(table.snapshot().routes["hello"]?.slots.first)
        #expect(replacement !== slot)
        #expect(slot.isRetired)
        #expect(replacement.backend.port == 9090)
    }

    @Test func pickPrefersFewestInFlight() throws {
        let table = RoutingTable()
        table.route(
            "hello", to: "hello-00001", backends: [self.a, self.b, Backend(id: "c", host: "10.0.0.3", port: 1)])
        let route = try #require(table.snapshot().routes["hello"])
        let a = route.slots[0]
        let c = route.slots[2]
        a.acquire()
        c.acquire()
        for seed in 0..<UInt64(30) {
            let picked = route.acquire(seed: seed)
            #expect(picked?.backend.id == "b")
            picked?.release()
        }
        a.release()
        c.release()
    }

    @Test func pickSpreadsTies() throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [self.a, self.b])
        let route = try #require(table.snapshot().routes["hello"])
        let picked = Set(
            (0..<UInt64(10)).compactMap { seed -> String? in
                let slot = route.acquire(seed: seed)
                slot?.release()
                return slot?.backend.id
            })
        #expect(picked == ["a", "b"])
        #expect(
            RevisionTarget(revision: route.targets[0].revision, slots: [], cumulativeWeight: 1).acquire(seed: 1) == nil)
    }
}
