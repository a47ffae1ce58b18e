import NIOCore
import NIOPosix
import Testing

@testable import SkiffGateway

/// WebSocket-style upgrades through a real gateway: routed and counted like any request,
/// then bytes both ways after the instance's `101` until either side closes or a timeout.
@Suite("Gateway tunnels after 101", .timeLimit(.minutes(1)))
struct TunnelTests {
    static let revision = "chat-00001"

    static func upgradeRequest(host: String, path: String = "/socket") -> String {
        "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
    }

    /// Sends the upgrade request and reads the 101 and the greeting the instance sent with it.
    /// With `speakFirst`, the client sends a byte before reading the greeting (and reads its
    /// echo after it), as a client of a protocol where the client opens would.
    static func openTunnel(
        _ connection: inout ByteConnection, host: String, speakFirst: Bool = true
    ) async throws -> String {
        try await connection.send(Self.upgradeRequest(host: host))
        let head = try await connection.readHead()
        if speakFirst { try await connection.send("!") }
        let greeting = try await connection.read(count: RawBackend.greeting.utf8.count)
        #expect(String(buffer: greeting) == RawBackend.greeting, "the bytes sent with the 101 must not be lost")
        if speakFirst { #expect(String(buffer: try await connection.read(count: 1)) == "!") }
        return head
    }

    static func headerLines(_ head: String) -> [String] {
        head.split(separator: "\r\n").dropFirst().map { $0.lowercased() }
    }

    @Test func bytesFlowBothWaysAfterTheInstanceSwitchesProtocols() async throws {
        try await RawBackend.with(name: "a", behaviour: .upgradeEcho) { backend in
            let table = RoutingTable()
            table.route("chat", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await ByteConnection.with(port: fixture.port) { connection in
                    let head = try await Self.openTunnel(&connection, host: fixture.host("chat"))
                    #expect(head.hasPrefix("HTTP/1.1 101"))
                    let lines = Self.headerLines(head)
                    #expect(lines.contains("upgrade: echo"))
                    #expect(lines.contains("connection: upgrade"))
                    #expect(table.inFlight(revision: Self.revision) == 1, "an open tunnel is one request in flight")

                    for round in 0..<5 {
                        let message = "round \(round): \(String(repeating: "x", count: round * 100))"
                        try await connection.send(message)
                        let echoed = try await connection.read(count: message.utf8.count)
                        #expect(String(buffer: echoed) == message)
                    }

                    // 1 MiB written while its echo is read: neither side may buffer it whole.
                    let total = 1024 * 1024
                    let outbound = connection.outbound
                    var reader = connection
                    let matched = try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            var offset = 0
                            while offset < total {
                                let count = min(64 * 1024, total - offset)
                                try await outbound.write(Pattern.buffer(offset: offset, count: count))
                                offset += count
                            }
                        }
                        var offset = 0
                        var matched = true
                        while offset < total {
                            let slice = try await reader.read(count: min(32 * 1024, total - offset))
                            if !Pattern.matches(slice, offset: offset) { matched = false }
                            offset += slice.readableBytes
                        }
                        try await group.waitForAll()
                        return matched
                    }
                    #expect(matched, "the echoed megabyte differs from what was sent")
                    #expect(table.inFlight(revision: Self.revision) == 1)
                }
                try await pollUntil("the closed tunnel releases its capacity") {
                    table.inFlight(revision: Self.revision) == 0
                }
                try await pollUntil("the instance's connection closes with the client's") {
                    backend.openConnections == 0
                }
            }
            let heads = backend.heads
            #expect(heads.count == 1)
            let upstreamLines = Self.headerLines(heads.first ?? "")
            #expect(upstreamLines.contains("upgrade: echo"), "the instance must be asked to switch")
            #expect(upstreamLines.contains("connection: upgrade"))
        }
    }

    /// A server that speaks first (a greeting right behind its 101, in the same write) must
    /// be heard without the client sending anything.
    @Test func theBytesSentWithThe101ReachAClientThatWaits() async throws {
        try await RawBackend.with(name: "a", behaviour: .upgradeEcho) { backend in
            let table = RoutingTable()
            table.route("chat", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await ByteConnection.with(port: fixture.port) { connection in
                    let head = try await Self.openTunnel(&connection, host: fixture.host("chat"), speakFirst: false)
                    #expect(head.hasPrefix("HTTP/1.1 101"))
                }
            }
        }
    }

    @Test func theInstanceClosingClosesTheClient() async throws {
        try await RawBackend.with(name: "a", behaviour: .upgradeEcho) { backend in
            let table = RoutingTable()
            table.route("chat", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await ByteConnection.with(port: fixture.port) { connection in
                    _ = try await Self.openTunnel(&connection, host: fixture.host("chat"))
                    try await connection.send("ping")
                    #expect(String(buffer: try await connection.read(count: 4)) == "ping")
                    backend.closeConnections()
                    let rest = await connection.readToEnd()
                    #expect(rest.readableBytes == 0)
                }
                try await pollUntil("the tunnel releases its capacity") {
                    table.inFlight(revision: Self.revision) == 0
                }
            }
        }
    }

    @Test func theIdleTimeoutClosesAQuietTunnel() async throws {
        try await RawBackend.with(name: "a", behaviour: .upgradeEcho) { backend in
            let table = RoutingTable()
            table.route(
                "chat", to: Self.revision, settings: RevisionSettings(idleTimeout: .seconds(2)),
                backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await ByteConnection.with(port: fixture.port) { connection in
                    // The client sends nothing after its request, so however slowly a loaded
                    // machine runs this, the timeout can only find a tunnel that has opened:
                    // the 101 and the instance's greeting arrive before it closes.
                    let head = try await Self.openTunnel(&connection, host: fixture.host("chat"), speakFirst: false)
                    #expect(head.hasPrefix("HTTP/1.1 101"))
                    // Nothing more is sent: the gateway must close the tunnel by itself.
                    _ = await connection.readToEnd()
                }
                try await pollUntil("the timed-out tunnel releases its capacity") {
                    table.inFlight(revision: Self.revision) == 0
                }
                try await pollUntil("the instance's side closes too") { backend.openConnections == 0 }
            }
        }
    }

    @Test func theRequestTimeoutBoundsATunnelsLife() async throws {
        try await RawBackend.with(name: "a", behaviour: .upgradeEcho) { backend in
            let table = RoutingTable()
            table.route(
                "chat", to: Self.revision, settings: RevisionSettings(requestTimeout: .seconds(3)),
                backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await ByteConnection.with(port: fixture.port) { connection in
                    try await connection.send(Self.upgradeRequest(host: fixture.host("chat")))
                    #expect(try await connection.readHead().hasPrefix("HTTP/1.1 101"))
                    // The client keeps the tunnel busy; the timeout ends it anyway (three
                    // seconds leave a loaded machine time to answer the 101). It may be over
                    // before this send, which then finds the connection closed: the outcome
                    // the test is after either way.
                    try? await connection.send("ping")
                    _ = await connection.readToEnd()
                }
                try await pollUntil("the timed-out tunnel releases its capacity") {
                    table.inFlight(revision: Self.revision) == 0
                }
                try await pollUntil("the instance's side closes too") { backend.openConnections == 0 }
            }
        }
    }

    /// An instance that does not switch answers the upgrade request like any other; the
    /// client's connection ends after that answer, its framing having ended with the request.
    @Test func anUpgradeAnsweredWithoutSwitchingIsForwardedThenTheConnectionCloses() async throws {
        let canned = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Instance: plain\r\n\r\nno switch"
        try await RawBackend.with(name: "a", behaviour: .canned(canned)) { backend in
            let table = RoutingTable()
            table.route("chat", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await ByteConnection.with(port: fixture.port) { connection in
                    try await connection.send(Self.upgradeRequest(host: fixture.host("chat")))
                    let head = try await connection.readHead()
                    #expect(head.hasPrefix("HTTP/1.1 200 OK"))
                    let lines = Self.headerLines(head)
                    #expect(lines.contains("x-instance: plain"))
                    #expect(lines.contains("connection: close"))
                    #expect(!lines.contains { $0.hasPrefix("upgrade:") })
                    let rest = await connection.readToEnd()
                    #expect(String(buffer: rest) == "no switch")
                }
                try await pollUntil("the exchange releases its capacity") {
                    table.inFlight(revision: Self.revision) == 0
                }
            }
        }
    }

    /// An HTTP/1.1 instance without upgrade support (NIO's server) answers the handshake with
    /// its own response, which reaches the client unchanged.
    @Test func anInstanceWithoutUpgradeSupportGivesItsOwnAnswer() async throws {
        try await TestBackend.with(name: "plain") { backend in
            let table = RoutingTable()
            table.route("chat", to: Self.revision, backends: [backend.backend])
            try await withGateway(table: table) { fixture in
                try await ByteConnection.with(port: fixture.port) { connection in
                    try await connection.send(Self.upgradeRequest(host: fixture.host("chat")))
                    let head = try await connection.readHead()
                    #expect(head.hasPrefix("HTTP/1.1 200 OK"))
                    let rest = String(buffer: await connection.readToEnd())
                    #expect(rest.contains("backend=plain"))
                    #expect(rest.contains("uri=/socket"))
                }
            }
        }
    }
}
