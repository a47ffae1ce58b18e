import Testing

@testable import SkiffGateway

@Suite("RoutingTable")
struct RoutingTableTests {
    let a = Backend(id: "a", host: "10.0.0.1", port: 8080)
    let b = Backend(id: "b", host: "10.0.0.2", port: 8080)

    @Test func publishesNewGenerationOnEveryChange() {
        let table = RoutingTable()
        let start = table.generation
        table.setBackends([self.a], for: "hello")
        let afterSet = table.generation
        #expect(afterSet > start)
        table.removeService("hello")
        let afterRemove = table.generation
        #expect(afterRemove > afterSet)
        table.removeService("unknown")
        #expect(table.generation == afterRemove)
        #expect(table.snapshot().routes.isEmpty)
    }

    @Test func distinguishesUnknownFromEmptyService() {
        let table = RoutingTable()
        table.setBackends([], for: "Idle")
        #expect(table.backends(for: "idle") == [])
        #expect(table.backends(for: "other") == nil)
        #expect(table.snapshot().routes["idle"]?.slots.isEmpty == true)
    }

    @Test func keepsCountersAcrossUpdatesOfTheSameBackend() throws {
        let table = RoutingTable()
        table.setBackends([self.a], for: "hello")
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        slot.acquire()
        table.setBackends([self.a, self.b], for: "hello")
        let again = try #require(table.snapshot().routes["hello"]?.slots.first { $0.backend.id == "a" })
        #expect(again === slot)
        #expect(table.inFlight(backendID: "a") == 1)
        #expect(table.inFlight(service: "hello") == 1)
        slot.release()
        #expect(table.inFlight(service: "hello") == 0)
    }

    @Test func sharesOneCounterBetweenServiceAndTagRoutes() throws {
        let table = RoutingTable()
        table.setRevision("hello-00001", settings: RevisionSettings(), backends: [self.a])
        table.setTraffic("hello", to: "hello-00001")
        table.setTraffic("v1---hello", to: "hello-00001")
        let routes = table.snapshot().routes
        let main = try #require(routes["hello"]?.slots.first)
        let tagged = try #require(routes["v1---hello"]?.slots.first)
        #expect(main === tagged)
    }

    @Test func removedBackendKeepsCountingUntilDrained() throws {
        let table = RoutingTable()
        table.setBackends([self.a, self.b], for: "hello")
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first { $0.backend.id == "a" })
        slot.acquire()
        table.setBackends([self.b], for: "hello")
        #expect(slot.isRetired)
        #expect(table.snapshot().routes["hello"]?.slots.map(\.backend.id) == ["b"])
        #expect(table.inFlight(backendID: "a") == 1)
        #expect(table.inFlight(service: "hello") == 1)
        slot.release()
        #expect(table.inFlight(backendID: "a") == 0)
        #expect(table.inFlight(service: "hello") == 0)
    }

    @Test func removedServiceDrainsToo() throws {
        let table = RoutingTable()
        table.setBackends([self.a], for: "hello")
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        slot.acquire()
        table.removeService("hello")
        #expect(table.inFlight(service: "hello") == 1)
        #expect(table.inFlight(backendID: "a") == 1)
        slot.release()
        #expect(table.inFlight(service: "hello") == 0)
    }

    @Test func readdedBackendIsRevived() throws {
        let table = RoutingTable()
        table.setBackends([self.a], for: "hello")
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        slot.acquire()
        table.setBackends([], for: "hello")
        #expect(slot.isRetired)
        table.setBackends([self.a], for: "hello")
        let again = try #require(table.snapshot().routes["hello"]?.slots.first)
        #expect(again === slot)
        #expect(!again.isRetired)
        slot.release()
    }

    @Test func movedBackendGetsNewSlot() throws {
        let table = RoutingTable()
        table.setBackends([self.a], for: "hello")
        let slot = try #require(table.snapshot().routes["hello"]?.slots.first)
        var moved = self.a
        moved.port = 9090
        table.setBackends([moved], for: "hello")
        let replacement = try #require(table.snapshot().routes["hello"]?.slots.first)
        #expect(replacement !== slot)
        #expect(slot.isRetired)
        #expect(replacement.backend.port == 9090)
    }

    @Test func pickPrefersFewestInFlight() throws {
        let table = RoutingTable()
        table.setBackends([self.a, self.b, Backend(id: "c", host: "10.0.0.3", port: 1)], for: "hello")
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
        table.setBackends([self.a, self.b], for: "hello")
        let route = try #require(table.snapshot().routes["hello"])
        let picked = Set(
            (0..<UInt64(10)).compactMap { seed -> String? in
                let slot = route.acquire(seed: seed)
                slot?.release()
                return slot?.backend.id
            })
        #expect(picked == ["a", "b"])
        #expect(RevisionTarget(revision: route.targets[0].revision, slots: [], cumulativeWeight: 1).acquire(seed: 1) == nil)
    }
}
