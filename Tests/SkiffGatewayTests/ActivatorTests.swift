import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Testing

@testable import SkiffGateway

/// The activator: hard concurrency limits, the per-revision queue, 429, 504, waking from zero
/// and thawing frozen instances, through a real gateway on loopback.
@Suite("Activator")
struct ActivatorTests {
    static func settings(_ change: (inout RevisionSettings) -> Void = { _ in }) -> RevisionSettings {
        var settings = RevisionSettings(concurrency: 0, queueDepth: 100)
        change(&settings)
        return settings
    }

    @Test func aConcurrencyOneRevisionNeverSeesTwoRequestsAtOnce() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route(
                "hello", to: "hello-00001", settings: Self.settings { $0.concurrency = 1 }, backends: [backend.backend])
            try await withGateway(table: table, threads: 2) { fixture in
                let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            try await TestHTTPConnection.with(port: fixture.port) { connection in
                                try await connection.request(.GET, "/work?ms=5", host: fixture.host("hello")).status
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.count == 20)
                #expect(statuses.allSatisfy { $0 == .ok })
                #expect(backend.maxConcurrent == 1)
            }
        }
    }

    @Test func withoutALimitTheSameLoadRunsInParallel() async throws {
        // The counterpart of the test above: proves the backend can see concurrency at all.
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", settings: Self.settings(), backends: [backend.backend])
            try await withGateway(table: table, threads: 2) { fixture in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<20 {
                        group.addTask {
                            _ = try await TestHTTPConnection.with(port: fixture.port) { connection in
                                try await connection.request(.GET, "/work?ms=200", host: fixture.host("hello"))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(backend.maxConcurrent > 1)
            }
        }
    }

    @Test func aRequestAtZeroWaitsWakesTheAutoscalerAndIsServedWhenAnInstanceIsReady() async throws {
        let demands = NIOLockedValueBox<[String]>([])
        let poked = Gate()
        let table = RoutingTable(onDemand: { revision in
            demands.withLockedValue { $0.append(revision) }
            poked.signal()
        })
        table.route("hello", to: "hello-00001", settings: Self.settings(), backends: [])
        try await TestBackend.with(name: "late") { backend in
            try await withGateway(table: table) { fixture in
                try await withThrowingTaskGroup(of: TestResponse.self) { group in
                    group.addTask {
                        try await TestHTTPConnection.with(port: fixture.port) { connection in
                            try await connection.request(host: fixture.host("hello"))
                        }
                    }
                    await poked.wait()
                    #expect(demands.withLockedValue { $0 } == ["hello-00001"])
                    #expect(table.sample().first { $0.revision == "hello-00001" }?.queued == 1)
                    #expect(backend.accepted == 0)
                    table.setRevision("hello-00001", settings: Self.settings(), backends: [backend.backend])
                    let response = try await group.next()
                    #expect(response?.status == .ok)
                    #expect(response?.echoedField("backend") == "late")
                }
                #expect(table.sample().first { $0.revision == "hello-00001" }?.queued == 0)
            }
        }
    }

    @Test func aFullQueueAnswers429WithRetryAfter() async throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", settings: Self.settings { $0.queueDepth = 1 }, backends: [])
        try await withGateway(table: table) { fixture in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Holds the only queue place until the test ends.
                    _ = try? await TestHTTPConnection.with(port: fixture.port) { connection in
                        try await connection.request(host: fixture.host("hello"))
                    }
                }
                try await Self.waitUntil { table.sample().first?.queued == 1 }
                let rejected = try await TestHTTPConnection.with(port: fixture.port) { connection in
                    try await connection.request(host: fixture.host("hello"))
                }
                #expect(rejected.status == .tooManyRequests)
                #expect(rejected.head.headers.first(name: "retry-after") == "1")
                group.cancelAll()
            }
        }
    }

    @Test func aRequestQueuedPastTheResponseStartTimeoutGets504() async throws {
        let table = RoutingTable()
        table.route(
            "hello", to: "hello-00001", settings: Self.settings { $0.responseStartTimeout = .milliseconds(200) },
            backends: [])
        try await withGateway(table: table) { fixture in
            let response = try await TestHTTPConnection.with(port: fixture.port) { connection in
                try await connection.request(host: fixture.host("hello"))
            }
            #expect(response.status == .gatewayTimeout)
            #expect(response.body.contains("response-start timeout"))
            #expect(table.sample().first?.queued == 0)
        }
    }

    @Test func aBackendSlowerThanTheResponseStartTimeoutGets504() async throws {
        try await TestBackend.with(name: "slow") { backend in
            let table = RoutingTable()
            table.route(
                "hello", to: "hello-00001", settings: Self.settings { $0.responseStartTimeout = .milliseconds(200) },
                backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                let response = try await TestHTTPConnection.with(port: fixture.port) { connection in
                    try await connection.request(.GET, "/slow", host: fixture.host("hello"))
                }
                #expect(response.status == .gatewayTimeout)
                #expect(table.inFlight(backendID: "slow") == 0)
                backend.release.signal()
            }
        }
    }

    @Test func aRevisionWithoutAQueueAnswers503AtOnce() async throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", settings: RevisionSettings(), backends: [])
        try await withGateway(table: table) { fixture in
            let response = try await TestHTTPConnection.with(port: fixture.port) { connection in
                try await connection.request(host: fixture.host("hello"))
            }
            #expect(response.status == .serviceUnavailable)
        }
    }

    @Test func queuedRequestsFollowTrafficWhenTheirRevisionIsRemoved() async throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", settings: Self.settings(), backends: [])
        try await TestBackend.with(name: "next") { backend in
            try await withGateway(table: table) { fixture in
                try await withThrowingTaskGroup(of: TestResponse.self) { group in
                    group.addTask {
                        try await TestHTTPConnection.with(port: fixture.port) { connection in
                            try await connection.request(host: fixture.host("hello"))
                        }
                    }
                    try await Self.waitUntil { table.sample().first { $0.revision == "hello-00001" }?.queued == 1 }
                    table.route("hello", to: "hello-00002", settings: Self.settings(), backends: [backend.backend])
                    table.removeRevision("hello-00001")
                    let response = try await group.next()
                    #expect(response?.status == .ok)
                    #expect(response?.echoedField("backend") == "next")
                }
            }
        }
    }

    /// A rollback leaves the new revision in the table (it is still the latest), but its
    /// queued requests must follow the traffic rather than wait for it.
    @Test func queuedRequestsFollowTrafficAwayFromARevisionThatStays() async throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00002", settings: Self.settings(), backends: [])
        try await TestBackend.with(name: "old") { backend in
            try await withGateway(table: table) { fixture in
                try await withThrowingTaskGroup(of: TestResponse.self) { group in
                    group.addTask {
                        try await TestHTTPConnection.with(port: fixture.port) { connection in
                            try await connection.request(host: fixture.host("hello"))
                        }
                    }
                    try await Self.waitUntil { table.sample().first { $0.revision == "hello-00002" }?.queued == 1 }
                    table.route("hello", to: "hello-00001", settings: Self.settings(), backends: [backend.backend])
                    let response = try await group.next()
                    #expect(response?.status == .ok)
                    #expect(response?.echoedField("backend") == "old")
                    #expect(table.sample().first { $0.revision == "hello-00002" }?.queued == 0)
                }
            }
        }
        // Each revision counts its answers for the rollout checks.
        let counts = table.sample().first { $0.revision == "hello-00001" }
        #expect(counts?.responses == 1 && counts?.serverErrors == 0)
    }

    /// Only the requests of keys that moved away are routed again: a tag that still points at
    /// the revision keeps its requests waiting for it.
    @Test func requestsOfAKeyThatStillRoutesToTheRevisionKeepWaiting() async throws {
        let table = RoutingTable()
        table.setRevision("hello-00002", settings: Self.settings(), backends: [])
        table.setTraffic(service: "hello", routes: ["hello": all("hello-00002"), "next---hello": all("hello-00002")])
        try await TestBackend.with(name: "old") { old in
            try await TestBackend.with(name: "new") { new in
                try await withGateway(table: table) { fixture in
                    try await withThrowingTaskGroup(of: TestResponse.self) { group in
                        for host in ["hello", "next---hello"] {
                            group.addTask {
                                try await TestHTTPConnection.with(port: fixture.port) { connection in
                                    try await connection.request(host: fixture.host(host))
                                }
                            }
                        }
                        try await Self.waitUntil { table.sample().first { $0.revision == "hello-00002" }?.queued == 2 }
                        // A rollback of the main key; the tag keeps the new revision.
                        table.setRevision("hello-00001", settings: Self.settings(), backends: [old.backend])
                        table.setTraffic(
                            service: "hello", routes: ["hello": all("hello-00001"), "next---hello": all("hello-00002")])
                        let moved = try await group.next()
                        #expect(moved?.echoedField("backend") == "old")
                        #expect(table.sample().first { $0.revision == "hello-00002" }?.queued == 1)
                        table.setRevision("hello-00002", settings: Self.settings(), backends: [new.backend])
                        let tagged = try await group.next()
                        #expect(tagged?.echoedField("backend") == "new")
                    }
                }
            }
        }
    }

    @Test func aFrozenInstanceIsThawedByTheRequestThatPicksIt() async throws {
        let thawed = NIOLockedValueBox<[String]>([])
        let table = RoutingTable(thaw: { id in thawed.withLockedValue { $0.append(id) } })
        try await TestBackend.with(name: "cold") { backend in
            table.route("hello", to: "hello-00001", settings: Self.settings(), backends: [backend.backend])
            var froze = 0
            #expect(table.freeze(backendID: "cold") { froze += 1 })
            #expect(froze == 1)
            // Frozen already: nothing to do.
            #expect(!table.freeze(backendID: "cold") { froze += 1 })
            #expect(table.sample().first?.instances.first?.frozen == true)
            let records = NIOLockedValueBox<[GatewayRequestRecord]>([])
            try await withGateway(table: table, observer: { record in records.withLockedValue { $0.append(record) } }) {
                fixture in
                let response = try await TestHTTPConnection.with(port: fixture.port) { connection in
                    try await connection.request(host: fixture.host("hello"))
                }
                #expect(response.status == .ok)
            }
            #expect(thawed.withLockedValue { $0 } == ["cold"])
            #expect(table.sample().first?.instances.first?.frozen == false)
            #expect(records.withLockedValue { $0.first?.thawed } == true)
            #expect(records.withLockedValue { $0.first?.revision } == "hello-00001")
        }
    }

    @Test func aBusyInstanceIsNotFrozen() throws {
        let table = RoutingTable()
        table.route(
            "hello", to: "hello-00001", settings: Self.settings(),
            backends: [Backend(id: "a", host: "10.0.0.1", port: 1)])
        let slot = try #require(table.snapshot().routes["hello"]?.acquire(seed: 0))
        var froze = false
        #expect(!table.freeze(backendID: "a") { froze = true })
        #expect(!froze)
        #expect(table.sample().first?.instances.first?.frozen == false)
        slot.release()
        #expect(table.sample().first?.instances.first?.served == 1)
    }

    /// Clients that give up while queued, as a load generator's connections do when it
    /// stops, leave nothing in flight: the instance can scale to zero and serve again.
    @Test func clientsThatLeaveTheQueueLeaveNothingInFlight() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route(
                "hello", to: "hello-00001", settings: Self.settings { $0.concurrency = 1 }, backends: [backend.backend])
            try await withGateway(table: table, threads: 2) { fixture in
                for round in 0..<10 {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for client in 0..<8 {
                            group.addTask {
                                try await RawConnection.with(port: fixture.port) { connection in
                                    try await connection.send(
                                        "GET /work?ms=20 HTTP/1.1\r\nHost: \(fixture.host("hello"))\r\n\r\n")
                                    // Leave at spread-out moments, some while capacity is handed over.
                                    try await Task.sleep(for: .milliseconds(5 * ((round + client) % 8)))
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                try await Self.waitUntil {
                    let load = table.sample().first { $0.revision == "hello-00001" }
                    return load?.queued == 0 && load?.instances.allSatisfy { $0.inFlight == 0 } == true
                }
                let status = try await TestHTTPConnection.with(port: fixture.port) { connection in
                    try await connection.request(host: fixture.host("hello")).status
                }
                #expect(status == .ok)
            }
        }
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    static func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("condition not met within 10 s") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

@Suite("Timeouts")
struct TimeoutTests {
    @Test func aResponseSlowerThanTheRequestTimeoutIsCutOff() async throws {
        try await TestBackend.with(name: "slow") { backend in
            let table = RoutingTable()
            table.route(
                "hello", to: "hello-00001",
                settings: RevisionSettings(queueDepth: 10, requestTimeout: .milliseconds(300)),
                backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                // /work answers after its delay; the head comes only then, so this is a 504.
                let response = try await TestHTTPConnection.with(port: fixture.port) { connection in
                    try await connection.request(.GET, "/work?ms=2000", host: fixture.host("hello"))
                }
                #expect(response.status == .gatewayTimeout)
                #expect(response.body.contains("timeout (300ms)"))
            }
        }
    }

    @Test func aStreamThatStallsLongerThanTheIdleTimeoutIsClosed() async throws {
        try await TestBackend.with(name: "stall") { backend in
            let table = RoutingTable()
            table.route(
                "hello", to: "hello-00001", settings: RevisionSettings(queueDepth: 10, idleTimeout: .milliseconds(300)),
                backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                // /slow waits for `release`, which never comes: no byte moves.
                let response = try await TestHTTPConnection.with(port: fixture.port) { connection in
                    try await connection.request(.GET, "/slow", host: fixture.host("hello"))
                }
                #expect(response.status == .gatewayTimeout)
                #expect(response.body.contains("idle timeout"))
                #expect(table.inFlight(backendID: "stall") == 0)
                backend.release.signal()
            }
        }
    }

    @Test func aFastRequestIsUntouchedByItsTimeouts() async throws {
        try await TestBackend.with(name: "fast") { backend in
            let table = RoutingTable()
            table.route(
                "hello", to: "hello-00001",
                // Generous deadlines: a loaded CI machine has been seen to stall for seconds.
                settings: RevisionSettings(
                    queueDepth: 10, responseStartTimeout: .seconds(8), requestTimeout: .seconds(8),
                    idleTimeout: .seconds(8)),
                backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    for _ in 0..<3 {
                        #expect(try await connection.request(host: fixture.host("hello")).status == .ok)
                    }
                    // Keep-alive across the timers' deadlines: the connection stays usable.
                    try await Task.sleep(for: .milliseconds(8500))
                    #expect(try await connection.request(host: fixture.host("hello")).status == .ok)
                }
            }
        }
    }
}
