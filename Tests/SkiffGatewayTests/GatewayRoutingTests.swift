import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Testing

@testable import SkiffGateway

@Suite("Gateway routing")
struct GatewayRoutingTests {
    @Test func routesHostToServiceCaseInsensitively() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    let plain = try await connection.request(host: fixture.host("hello"))
                    #expect(plain.status == .ok)
                    #expect(plain.echoedField("backend") == "a")
                    let shouting = try await connection.request(host: "HELLO.LocalHost:\(fixture.port)")
                    #expect(shouting.status == .ok)
                    #expect(shouting.echoedField("backend") == "a")
                    let noPort = try await connection.request(host: "hello.localhost")
                    #expect(noPort.status == .ok)
                }
            }
        }
    }

    @Test func tagRouteIsItsOwnKey() async throws {
        try await TestBackend.with(name: "stable") { stable in
            try await TestBackend.with(name: "canary") { canary in
                let table = RoutingTable()
                table.setRevision("hello-00001", settings: RevisionSettings(), backends: [stable.backend])
                table.setRevision("hello-00002", settings: RevisionSettings(), backends: [canary.backend])
                table.setTraffic(
                    service: "hello", routes: ["hello": all("hello-00001"), "v2---hello": all("hello-00002")])
                try await withGateway(table: table) { fixture in
                    try await TestHTTPConnection.with(port: fixture.port) { connection in
                        let tagged = try await connection.request(host: fixture.host("v2---hello"))
                        #expect(tagged.echoedField("backend") == "canary")
                        let main = try await connection.request(host: fixture.host("hello"))
                        #expect(main.echoedField("backend") == "stable")
                        let unknownTag = try await connection.request(host: fixture.host("v3---hello"))
                        #expect(unknownTag.status == .notFound)
                    }
                }
            }
        }
    }

    @Test(arguments: ["nope.localhost", "hello.example.com", "a.hello.localhost", "localhost"])
    func unknownHostGets404(host: String) async throws {
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [Backend(id: "x", host: "127.0.0.1", port: 9)])
        try await withGateway(table: table) { fixture in
            try await TestHTTPConnection.with(port: fixture.port) { connection in
                let response = try await connection.request(host: host)
                #expect(response.status == .notFound)
                #expect(response.body == "no service for host \"\(host)\"\n")
                // The connection stays usable after a local answer.
                let again = try await connection.request(host: host)
                #expect(again.status == .notFound)
            }
        }
    }

    @Test func serviceWithoutBackendsGets503() async throws {
        let table = RoutingTable()
        table.route("idle", to: "idle-00001", backends: [])
        try await withGateway(table: table) { fixture in
            try await TestHTTPConnection.with(port: fixture.port) { connection in
                let response = try await connection.request(host: fixture.host("idle"))
                #expect(response.status == .serviceUnavailable)
                #expect(response.body.contains("idle"))
            }
        }
    }

    @Test func removedServiceGets404() async throws {
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    do {
                        let response = try await connection.request(host: fixture.host("hello"))
                        #expect(response.status == .ok)
                    }
                    // The service is deleted, as the controller unpublishes it.
                    table.setTraffic(service: "hello", routes: [:])
                    table.removeRevision("hello-00001")
                    do {
                        let response = try await connection.request(host: fixture.host("hello"))
                        #expect(response.status == .notFound)
                    }
                }
            }
        }
    }

    @Test func missingHostGets400() async throws {
        try await withGateway { fixture in
            try await RawConnection.with(port: fixture.port) { connection in
                try await connection.send("GET / HTTP/1.0\r\n\r\n")
                let response = try await connection.readToEnd()
                #expect(response.hasPrefix("HTTP/1.0 400"))
            }
            try await TestHTTPConnection.with(port: fixture.port) { connection in
                let response = try await connection.request(host: nil)
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func malformedRequestGets400() async throws {
        try await withGateway { fixture in
            try await RawConnection.with(port: fixture.port) { connection in
                try await connection.send("NOT HTTP AT ALL\r\n\r\n")
                let response = try await connection.readToEnd()
                #expect(response.hasPrefix("HTTP/1.1 400"))
            }
        }
    }

    @Test func unreachableBackendGets502() async throws {
        let port = try await closedPort()
        let table = RoutingTable()
        table.route("hello", to: "hello-00001", backends: [Backend(id: "gone", host: "127.0.0.1", port: port)])
        try await withGateway(table: table) { fixture in
            try await TestHTTPConnection.with(port: fixture.port) { connection in
                let response = try await connection.request(host: fixture.host("hello"))
                #expect(response.status == .badGateway)
                #expect(response.body == "backend unavailable\n")
                let again = try await connection.request(host: fixture.host("hello"))
                #expect(again.status == .badGateway)
            }
            #expect(table.inFlight(backendID: "gone") == 0)
        }
    }

    @Test func observerSeesEveryRequest() async throws {
        let records = RecordBox()
        try await TestBackend.with(name: "a") { backend in
            let table = RoutingTable()
            table.route("hello", to: "hello-00001", backends: [backend.backend])
            try await withGateway(table: table, observer: { records.append($0) }) { fixture in
                try await TestHTTPConnection.with(port: fixture.port) { connection in
                    _ = try await connection.request(host: fixture.host("hello"))
                    _ = try await connection.request(host: fixture.host("v1---hello"))
                }
            }
        }
        let all = records.all
        #expect(all.count == 2)
        #expect(all.first?.service == "hello")
        #expect(all.first?.status == 200)
        #expect(all.first?.backendID == "a")
        #expect(all.last?.status == 404)
        #expect(all.last?.tag == "v1")
    }
}

final class RecordBox: Sendable {
    private let records = NIOLockedValueBox<[GatewayRequestRecord]>([])
    func append(_ record: GatewayRequestRecord) { self.records.withLockedValue { $0.append(record) } }
    var all: [GatewayRequestRecord] { self.records.withLockedValue { $0 } }
}
