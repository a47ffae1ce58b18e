import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// What Cloud Run and Knative carry besides plain HTTP/1.1, end to end with real clients and
/// servers: WebSockets, HTTP/2 from clients (h2c), gRPC to h2c instances, and responses
/// streamed as they are produced with the slow client's backpressure reaching the instance.
///
/// The servers are in the `protocols` test image (images/protocols), the clients are
/// Debian's python3 libraries (``ProtocolClients``), curl and h2load.
@Suite(.serialized) struct ProtocolTests {
    /// Builds the protocols image into the server's data dir and loads it as `protocols:v1`.
    static func loadProtocolsImage(_ server: ServerHarness) async throws {
        let layout = server.dataDir + "/protocols"
        let build = try await ChildProcess.run(
            ServerHarness.packageRoot + "/images/protocols/build.sh", [layout, "v1"])
        guard build.status == 0 else { throw HarnessError("images/protocols/build.sh failed: \(build.combined)") }
        _ = try await server.skiffOK(["images", "load", layout + ":v1", "--tag", "protocols:v1"])
    }

    static func authority(_ server: ServerHarness, _ service: String) -> String {
        "\(service).localhost:\(server.httpPort)"
    }

    /// The value of the metric line that starts with `prefix` (name and labels), if any.
    static func metric(_ server: ServerHarness, _ prefix: String) async throws -> Double? {
        let text = try await server.get("/metrics").body
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// Runs `body` while a WebSocket to `service` is open (the client's `hold` mode), then lets
    /// the client echo once more and close with "close"; returns what the client saw.
    static func whileWebSocketOpen(
        _ server: ServerHarness, _ service: String, _ body: () async throws -> Void
    ) async throws -> [String: Any] {
        let flag = server.dataDir + "/release-\(UUID().uuidString)"
        async let held = ProtocolClients.run(
            ProtocolClients.webSocket, [String(server.httpPort), authority(server, service), "hold", flag])
        do {
            try await body()
        } catch {
            _ = FileManager.default.createFile(atPath: flag, contents: nil)
            _ = try? await held
            throw error
        }
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        return try await held
    }

    /// Waits until `revision` of `service` has about one request in flight, as the autoscaler
    /// averages it over the panic window (a tenth of `--window 6s`); returns the value.
    @discardableResult
    static func oneInFlight(_ server: ServerHarness, _ service: String, _ revision: String) async throws -> Double {
        let panic = #"skiff_revision_panic_concurrency_requests{service="\#(service)",revision="\#(revision)"}"#
        var inFlight = 0.0
        try await eventually("one request in flight on \(revision)", within: .seconds(60)) {
            inFlight = try await metric(server, panic) ?? 0
            return inFlight >= 0.9
        }
        return inFlight
    }

    // MARK: WebSockets

    @Test(.enabled(if: E2E.enabled)) func webSocketWakesAServiceAtZeroEchoesAndCountsAsOneRequestInFlight() async throws
    {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            _ = try await server.skiffOK([
                "deploy", "echo", "--image", "protocols:v1", "--initial-instances", "0", "--window", "6s",
            ])
            #expect(try await AutoscalingTests.states(server, "echo").isEmpty)

            // From zero: the handshake waits in the activator's queue for the first instance.
            let echoed = try await ProtocolClients.run(
                ProtocolClients.webSocket, [String(server.httpPort), Self.authority(server, "echo"), "echo"])
            #expect(echoed["text"] as? String == "hello")
            #expect(echoed["binary"] as? Bool == true)
            #expect(echoed["close_code"] as? Int == 1000, "\(echoed)")
            #expect(try await AutoscalingTests.states(server, "echo").count == 1)

            // A server that speaks first: its greeting reaches a client that has sent nothing.
            let greeted = try await ProtocolClients.run(
                ProtocolClients.webSocket, [String(server.httpPort), Self.authority(server, "echo"), "greet"])
            #expect(greeted["greeting"] as? String == "welcome", "\(greeted)")
            #expect(greeted["close_code"] as? Int == 1000, "\(greeted)")

            // Held open, the socket is one request in flight (and keeps its instance from
            // freezing, which an idle second would do); closed, none.
            let released = try await Self.whileWebSocketOpen(server, "echo") {
                let inFlight = try await Self.oneInFlight(server, "echo", "echo-00001")
                #expect(inFlight < 1.5, "one socket counted as \(inFlight) requests")
                #expect(try await AutoscalingTests.states(server, "echo") == ["ready"])
            }
            #expect(released["after_hold"] as? String == "still open", "\(released)")
            #expect(released["close_code"] as? Int == 1000, "\(released)")
            let panic = #"skiff_revision_panic_concurrency_requests{service="echo",revision="echo-00001"}"#
            try await eventually("no request in flight once the socket closed", within: .seconds(60)) {
                (try await Self.metric(server, panic) ?? 1) < 0.1
            }
            let answered = try await Self.metric(
                server, #"skiff_requests_total{service="echo",revision="echo-00001",code="101"}"#)
            #expect(answered == 3, "the three WebSockets as requests answered with 101")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func anOpenWebSocketTakesItsInstancesConcurrencySlotUntilItCloses() async throws {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            _ = try await server.skiffOK([
                "deploy", "single", "--image", "protocols:v1", "--concurrency", "1", "--max-instances", "1",
                "--min-instances", "1", "--window", "6s",
            ])
            let flag = server.dataDir + "/release-single"
            async let held = ProtocolClients.run(
                ProtocolClients.webSocket, [String(server.httpPort), Self.authority(server, "single"), "hold", flag])
            let queued = #"skiff_revision_queued_requests{service="single",revision="single-00001"}"#
            // A plain request waits in the queue while the socket holds the only slot, and is
            // answered once it closes.
            let waited: ServerHarness.HTTPResult
            do {
                try await Self.oneInFlight(server, "single", "single-00001")
                async let plain = server.gateway("/", host: "single.localhost")
                do {
                    try await eventually("the plain request waits behind the socket", within: .seconds(30)) {
                        (try await Self.metric(server, queued) ?? 0) >= 1
                    }
                } catch {
                    _ = FileManager.default.createFile(atPath: flag, contents: nil)
                    _ = try? await plain
                    throw error
                }
                _ = FileManager.default.createFile(atPath: flag, contents: nil)
                waited = try await plain
            } catch {
                _ = FileManager.default.createFile(atPath: flag, contents: nil)
                _ = try? await held
                throw error
            }
            #expect(waited.status == .ok)
            #expect(waited.body == "ok\n")
            let released = try await held
            #expect(released["after_hold"] as? String == "still open", "\(released)")
            #expect(released["close_code"] as? Int == 1000, "\(released)")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func aDrainingInstanceLetsItsOpenWebSocketFinish() async throws {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            _ = try await server.skiffOK([
                "deploy", "drain", "--image", "protocols:v1", "--min-instances", "1", "--window", "6s",
            ])
            let released = try await Self.whileWebSocketOpen(server, "drain") {
                try await Self.oneInFlight(server, "drain", "drain-00001")
                // A new revision takes the traffic; the old instance drains, and stays while its
                // socket is open (within the drain timeout).
                _ = try await server.skiffOK(["deploy", "drain", "--env", "ROUND=2"])
                try await eventually("the old instance drains", within: .seconds(30), every: .milliseconds(50)) {
                    try await AutoscalingTests.states(server, "drain").contains("stopping")
                }
            }
            #expect(released["after_hold"] as? String == "still open", "the draining instance: \(released)")
            #expect(released["close_code"] as? Int == 1000, "\(released)")
            try await eventually("the drained instance is gone", within: .seconds(30)) {
                try await AutoscalingTests.states(server, "drain") == ["ready"]
            }
        }
    }

    @Test(.enabled(if: E2E.enabled)) func webSocketHandshakeToAServerWithoutUpgradeGetsItsOwnAnswer() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "hello", "--image", "hello:v1"])
            let plain = try await server.gateway("/", host: "hello.localhost")
            let answer = try await ProtocolClients.run(
                ProtocolClients.rawUpgrade, [String(server.httpPort), Self.authority(server, "hello")])
            // busybox httpd ignores Upgrade and serves the page: that answer, not a 101 or a 502.
            #expect(answer["status_line"] as? String == "HTTP/1.1 200 OK", "\(answer)")
            #expect(answer["body"] as? String == plain.body)
            #expect((answer["headers"] as? [String: String])?["upgrade"] == nil, "\(answer)")
            #expect(try await server.gateway("/", host: "hello.localhost").status == .ok)
        }
    }

    @Test(.enabled(if: E2E.enabled)) func requestAndIdleTimeoutsCloseAnOpenWebSocket() async throws {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            _ = try await server.skiffOK(["deploy", "brief", "--image", "protocols:v1", "--timeout", "3s"])
            _ = try await server.skiffOK([
                "deploy", "hushed", "--image", "protocols:v1", "--timeout", "0", "--idle-timeout", "2s",
            ])
            let port = String(server.httpPort)

            // Busy all along, the socket still ends with the request timeout, as on Cloud Run.
            let busy = try await ProtocolClients.run(
                ProtocolClients.webSocket, [port, Self.authority(server, "brief"), "chatty"])
            #expect(busy["text"] as? String == "hello", "\(busy)")
            #expect(busy["still_open"] == nil, "the request timeout did not close the socket: \(busy)")
            let busyFor = busy["closed_after_seconds"] as? Double ?? 0
            #expect(busyFor > 1 && busyFor < 15, "closed \(busyFor) s after the echoes, timeout 3 s: \(busy)")

            // Silent, it ends with the idle timeout.
            let quiet = try await ProtocolClients.run(
                ProtocolClients.webSocket, [port, Self.authority(server, "hushed"), "quiet"])
            #expect(quiet["text"] as? String == "hello", "\(quiet)")
            #expect(quiet["still_open"] == nil, "the idle timeout did not close the socket: \(quiet)")
            let quietFor = quiet["closed_after_seconds"] as? Double ?? 0
            #expect(quietFor > 1 && quietFor < 15, "closed \(quietFor) s after the echoes, idle timeout 2 s: \(quiet)")
        }
    }

    // MARK: HTTP/2 from clients

    @Test(.enabled(if: E2E.enabled)) func h2cWithPriorKnowledgeOrUpgradeServesAnHTTP1Service() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "hello", "--image", "hello:v1"])
            let url = "http://hello.localhost:\(server.httpPort)/"
            let resolve = "hello.localhost:\(server.httpPort):127.0.0.1"
            for mode in ["--http2-prior-knowledge", "--http2"] {
                let curl = try await ChildProcess.run(
                    "/usr/bin/curl", ["-sS", mode, "--resolve", resolve, "-w", "\n%{http_version} %{http_code}", url])
                #expect(curl.status == 0, "curl \(mode): \(curl.combined)")
                #expect(curl.stdout.hasSuffix("\n2 200"), "curl \(mode) answered: \(curl.stdout.suffix(200))")
                #expect(curl.stdout.contains("Hello from Skiff"), "curl \(mode): \(curl.stdout.prefix(300))")
            }

            // Many streams on each of a few connections, every one answered.
            let load = try await ChildProcess.run(
                "/usr/bin/h2load",
                [
                    "-c", "4", "-m", "16", "-n", "2000", "-H", ":authority: \(Self.authority(server, "hello"))",
                    "http://127.0.0.1:\(server.httpPort)/",
                ])
            #expect(load.status == 0, "h2load: \(load.combined)")
            #expect(load.stdout.contains("status codes: 2000 2xx"), "h2load: \(load.stdout)")
            #expect(load.stdout.contains("2000 succeeded, 0 failed, 0 errored"), "h2load: \(load.stdout)")

            // Each stream is a request of its own under the concurrency limit: 8 at once on one
            // connection to a single instance that takes one at a time queue (the queue holds ten
            // per slot), and all are answered.
            _ = try await server.skiffOK([
                "deploy", "narrow", "--image", "hello:v1", "--concurrency", "1", "--max-instances", "1",
            ])
            let narrow = try await ChildProcess.run(
                "/usr/bin/h2load",
                [
                    "-c", "1", "-m", "8", "-n", "200", "-H", ":authority: \(Self.authority(server, "narrow"))",
                    "http://127.0.0.1:\(server.httpPort)/",
                ])
            #expect(narrow.stdout.contains("status codes: 200 2xx"), "h2load: \(narrow.combined)")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func malformedHTTP2GetsGoawayWithItsErrorCodeAndSparesOtherConnections()
        async throws
    {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "hello", "--image", "hello:v1"])
            let result = try await ProtocolClients.run(
                ProtocolClients.malformedHTTP2, [String(server.httpPort), Self.authority(server, "hello"), "/"])
            let cases = try #require(result["cases"] as? [String: [String: Any]], "\(result)")
            let expected = [
                "DATA on stream 0": "PROTOCOL_ERROR", "SETTINGS of 5 bytes": "FRAME_SIZE_ERROR",
                "WINDOW_UPDATE of 0": "PROTOCOL_ERROR", "HEADERS with a bad HPACK block": "COMPRESSION_ERROR",
            ]
            for (name, code) in expected {
                #expect(cases[name]?["goaway"] as? String == code, "\(name): \(cases[name] ?? [:])")
                #expect(cases[name]?["closed"] as? Bool == true, "\(name) left the connection open")
            }
            // A broken preface is a PROTOCOL_ERROR whose GOAWAY may be left out (RFC 9113 3.4);
            // read as HTTP/1.1 it must at least be refused.
            let preface = try #require(cases["bad preface"])
            #expect(preface["closed"] as? Bool == true, "a bad preface left the connection open: \(preface)")
            #expect([nil, "PROTOCOL_ERROR"].contains(preface["goaway"] as? String), "\(preface)")
            if let http1 = preface["http1"] as? String {
                #expect(http1.hasPrefix("HTTP/1.1 4") || http1.hasPrefix("HTTP/1.1 5"), "\(http1)")
            }
            #expect((result["before"] as? [String: Any])?["status"] as? Int == 200, "\(result)")
            #expect((result["after"] as? [String: Any])?["status"] as? Int == 200, "the good connection: \(result)")
        }
    }

    // MARK: gRPC

    @Test(.enabled(if: E2E.enabled)) func grpcCallsOfEveryKindPassThroughToAnH2CService() async throws {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            _ = try await server.skiffOK([
                "deploy", "ping", "--image", "protocols:v1", "--port-protocol", "h2c", "--command", "/usr/bin/python3",
                "--args", "/app/grpc_ping.py",
            ])
            let result = try await ProtocolClients.run(
                ProtocolClients.grpc, [String(server.httpPort), Self.authority(server, "ping")])
            // A call to a service at zero waits in the activator's queue like any request.
            _ = try await server.skiffOK([
                "deploy", "lazyping", "--image", "protocols:v1", "--port-protocol", "h2c", "--command",
                "/usr/bin/python3", "--args", "/app/grpc_ping.py", "--initial-instances", "0",
            ])
            #expect(try await AutoscalingTests.states(server, "lazyping").isEmpty)
            let woken = try await ProtocolClients.run(
                ProtocolClients.grpc, [String(server.httpPort), Self.authority(server, "lazyping"), "ping"])
            #expect(woken["ping"] as? String == "hello - pong", "from zero: \(woken)")
            #expect(result["ping"] as? String == "hello - pong", "unary: \(result)")
            #expect(result["stream"] as? [String] == Array(repeating: "pong", count: 5), "bidi: \(result)")
            #expect(result["count"] as? [String] == ["1", "2", "3", "4", "5"], "server streaming: \(result)")
            #expect(result["join"] as? String == "a,b,c", "client streaming: \(result)")
            // The status is in the trailers: it reaches the client only if they pass through,
            // after messages or alone (a trailers-only answer, one HEADERS frame).
            let streamFailure = result["stream-fail"] as? [String: Any]
            #expect(streamFailure?["received"] as? [String] == ["1", "2", "3"], "status after messages: \(result)")
            #expect(streamFailure?["code"] as? String == "NOT_FOUND", "status after messages: \(result)")
            #expect(streamFailure?["details"] as? String == "after 3", "status after messages: \(result)")
            let failure = result["fail"] as? [String: Any]
            #expect(failure?["code"] as? String == "NOT_FOUND", "trailers-only status: \(result)")
            #expect(failure?["details"] as? String == "no such thing", "trailers-only status: \(result)")
            // Deadlines: the client's own, and grpc-timeout from a client that leaves it to the
            // servers; either way the call upstream ends too.
            let deadline = result["deadline"] as? [String: Any]
            #expect(deadline?["code"] as? String == "DEADLINE_EXCEEDED", "deadline: \(result)")
            #expect((result["deadline_seconds"] as? Double ?? 99) < 5, "a 1 s deadline took: \(result)")
            let timeout = result["grpc-timeout"] as? [String: Any]
            #expect(timeout?["grpc-status"] as? String == "4", "grpc-timeout 1S: \(result)")
            #expect((timeout?["seconds"] as? Double ?? 99) < 5, "grpc-timeout 1S took: \(result)")
            #expect(result["sleeping"] as? String == "0", "calls past their deadline still run upstream: \(result)")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func knativeGrpcPingSampleAppliesAndAnswers() async throws {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            // The documentation's manifest with our image, started as grpc_ping.py.
            let sample = KnativeSamples.grpcPing(image: "protocols:v1").replacingOccurrences(
                of: "\n        ports:\n",
                with:
                    "\n        command: [\"/usr/bin/python3\"]\n        args: [\"/app/grpc_ping.py\"]\n        ports:\n"
            )
            #expect(sample.contains("args:"), "the sample's shape changed:\n\(sample)")
            let applied = try await server.skiff(["apply", "-f", "-"], stdin: sample)
            #expect(applied.status == 0, "\(applied.stderr)")
            var answer: [String: Any] = [:]
            try await eventually("the sample answers a Ping", within: .seconds(60)) {
                answer = try await ProtocolClients.run(
                    ProtocolClients.grpc, [String(server.httpPort), Self.authority(server, "grpc-ping"), "ping"])
                return answer["ping"] as? String == "hello - pong"
            }
            let exported = try await server.skiffOK(["export", "grpc-ping"])
            #expect(exported.contains("name: h2c"), "export keeps the h2c port name:\n\(exported)")
        }
    }

    // MARK: Streaming

    @Test(.enabled(if: E2E.enabled)) func serverSentEventsAndChunkedPartsArriveAsTheyAreProduced() async throws {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            // One instance, so /progress asks the one producing the stream.
            _ = try await server.skiffOK([
                "deploy", "feed", "--image", "protocols:v1", "--env", "APP=stream", "--min-instances", "1",
                "--max-instances", "1",
            ])
            let port = String(server.httpPort)
            let authority = Self.authority(server, "feed")

            let events = try await ProtocolClients.run(ProtocolClients.streaming, [port, authority, "sse", "e", "50"])
            #expect(events["status"] as? Int == 200, "\(events)")
            #expect(events["content_type"] as? String == "text/event-stream", "\(events)")
            #expect(events["items"] as? [String] == (1...50).map { "data: event \($0)" }, "\(events)")
            // Buffered, the first event would arrive only after the fiftieth was produced.
            let produced = events["produced_when_first_arrived"] as? Int ?? 50
            #expect(produced < 50, "the first event arrived after \(produced) of 50 were produced")
            #expect((events["spread_seconds"] as? Double ?? 0) > 2, "the events arrived together: \(events)")

            let parts = try await ProtocolClients.run(
                ProtocolClients.streaming, [port, authority, "chunked", "c", "20"])
            #expect(parts["items"] as? [String] == (1...20).map { "part \($0)" }, "\(parts)")
            let producedParts = parts["produced_when_first_arrived"] as? Int ?? 20
            #expect(producedParts < 20, "the first part arrived after \(producedParts) of 20 were produced")

            // The same events to an HTTP/2 client, from the same HTTP/1.1 instance.
            let h2Events = try await ProtocolClients.run(
                ProtocolClients.streaming, [port, authority, "h2sse", "h2e", "30"])
            #expect(h2Events["status"] as? Int == 200, "\(h2Events)")
            #expect(h2Events["items"] as? [String] == (1...30).map { "data: event \($0)" }, "\(h2Events)")
            let producedForH2 = h2Events["produced_when_first_arrived"] as? Int ?? 30
            #expect(producedForH2 < 30, "over h2c the first event arrived after \(producedForH2) of 30 were produced")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func aClientThatReadsNothingHoldsTheProducerBack() async throws {
        try await E2E.withServer(loadingSample: false) { server in
            try await Self.loadProtocolsImage(server)
            _ = try await server.skiffOK([
                "deploy", "hose", "--image", "protocols:v1", "--env", "APP=stream", "--min-instances", "1",
                "--max-instances", "1",
            ])
            // Over HTTP/1.1 the client's full socket stops the gateway; over h2c the stream's
            // flow-control window, never reopened, must.
            for mode in ["firehose", "h2firehose"] {
                let result = try await ProtocolClients.run(
                    ProtocolClients.streaming, [String(server.httpPort), Self.authority(server, "hose"), mode, mode])
                // Kernel buffers on both sides of the gateway hold some megabytes; the gateway's
                // own memory must not take up the rest of the 512 MiB.
                let plateau = try #require(result["plateau"] as? Int, "\(mode): the producer never stopped: \(result)")
                #expect(plateau < 64 << 20, "\(mode): the instance wrote \(plateau) bytes to a client that read none")
                #expect((result["drained"] as? Int ?? 0) >= 32 << 20, "\(mode): \(result)")
                #expect(
                    (result["after_draining"] as? Int ?? 0) > plateau,
                    "\(mode): reading did not resume the producer: \(result)")
            }
        }
    }
}
