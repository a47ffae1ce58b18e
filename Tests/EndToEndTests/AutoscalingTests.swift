import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1
import SkiffTestSupport
import Testing

/// Autoscaling end to end, with real runc containers: from zero and back, under `wrk` load,
/// counting every non-2xx answer and every socket error.
@Suite struct AutoscalingTests {
    /// Instances of `service` by state, straight from the API (cheaper than the CLI when polled).
    static func states(_ server: ServerHarness, _ service: String) async throws -> [String] {
        let response = try await server.get("/v1/services/\(service)/instances")
        let parsed = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]] ?? []
        return parsed.compactMap { $0["state"] as? String }
    }

    @Test(.enabled(if: E2E.enabled)) func aServiceAtZeroAnswersItsFirstRequest() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "lazy", "--image", "hello:v1", "--initial-instances", "0"])
            #expect(try await Self.states(server, "lazy").isEmpty)
            let first = try await server.gateway("/", host: "lazy.localhost")
            #expect(first.status == .ok)
            #expect(first.body.contains("Hello from Skiff"))
            #expect(try await Self.states(server, "lazy").count == 1)
        }
    }

    @Test(.enabled(if: E2E.enabled)) func scalesUpUnderLoadDownAfterItToZeroAndWakesWithoutAFailedRequest() async throws
    {
        try await E2E.withServer { server in
            // The instances take three seconds to stop after SIGTERM, so that the test can send
            // a request while the last one is stopping, even when a busy machine answers its
            // polls slowly.
            let slowStop = #"httpd -f -p "$PORT" -h /www & pid=$!; trap 'sleep 3; kill $pid; exit 0' TERM; wait $pid"#
            _ = try await server.skiffOK([
                "deploy", "web", "--image", "hello:v1", "--concurrency", "1", "--max-instances", "4", "--window", "6s",
                "--scale-to-zero-grace", "2s", "--frozen-retention", "0s", "--command", "/bin/sh", "--args", "-c",
                "--args", slowStop,
            ])
            let url = "http://127.0.0.1:\(server.httpPort)/"
            let host = "web.localhost:\(server.httpPort)"

            // Scale up: a step to 8 connections on a concurrency-1 service.
            let peak = NIOLockedValueBox(0)
            let step = try await withThrowingTaskGroup(of: WrkResult?.self) { group in
                group.addTask { try await Wrk.run(url: url, host: host, connections: 8, duration: "8s") }
                group.addTask {
                    let deadline = ContinuousClock.now + .seconds(8)
                    while ContinuousClock.now < deadline {
                        let serving = try await Self.states(server, "web").filter { $0 == "ready" || $0 == "frozen" }
                            .count
                        peak.withLockedValue { $0 = max($0, serving) }
                        try await Task.sleep(for: .milliseconds(200))
                    }
                    return nil
                }
                var result: WrkResult?
                for try await value in group where value != nil { result = value }
                return try #require(result)
            }
            #expect(step.requests > 0)
            #expect(step.failures == 0, "scale-up: \(step)")
            #expect(peak.withLockedValue { $0 } > 1, "the load did not add instances")
            #expect(peak.withLockedValue { $0 } <= 4, "max-instances was exceeded")

            // Scale down: a light load while the extra instances go.
            let light = try await Wrk.run(url: url, host: host, connections: 1, duration: "10s")
            #expect(light.failures == 0, "scale-down: \(light)")
            try await eventually("scaled down to at most two instances", within: .seconds(30)) {
                try await Self.states(server, "web").count <= 2
            }

            // Scale to zero. A request sent while the last instance is stopping is served (by a
            // new instance); then, left alone, the service reaches zero.
            var raced = 0
            try await eventually("scaled to zero", within: .seconds(60), every: .milliseconds(10)) {
                let states = try await Self.states(server, "web")
                if raced == 0, states.contains("stopping"), !states.contains("ready"), !states.contains("frozen") {
                    let response = try await server.gateway("/", host: "web.localhost")
                    #expect(response.status == .ok, "a request during scale to zero got \(response.status)")
                    raced += 1
                    return false
                }
                return states.isEmpty
            }
            #expect(raced == 1, "never saw the last instance stopping")
            #expect(try await runningContainers(server).isEmpty)

            // Wake from nothing.
            let woken = try await server.gateway("/", host: "web.localhost")
            #expect(woken.status == .ok)
            let metrics = try await server.get("/metrics")
            #expect(
                metrics.body.contains(
                    #"skiff_cold_start_duration_seconds_count{service="web",revision="web-00001",kind="new"}"#))
            #expect(try await Promtool.check(metrics.body) == "", "promtool check metrics")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func anIdleInstanceFreezesAndItsNextRequestThawsIt() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "cold", "--image", "hello:v1", "--freeze-after", "200ms"])
            try await eventually("the idle instance is frozen") { try await Self.states(server, "cold") == ["frozen"] }
            let id = try #require(try await instancesJSON(server, "cold").first?["id"] as? String)
            #expect(try cgroupValue("freezer", id, "freezer.state") == "FROZEN")
            let response = try await server.gateway("/", host: "cold.localhost")
            #expect(response.status == .ok)
            // Thawed by the request itself, not restarted: the same instance answered.
            #expect(try await instancesJSON(server, "cold").map { $0["id"] as? String } == [id])
            let metrics = try await server.get("/metrics")
            #expect(
                metrics.body.contains(
                    #"skiff_cold_start_duration_seconds_count{service="cold",revision="cold-00001",kind="frozen"} 1"#))
        }
    }
}

/// What `wrk` reported: requests done, and failures of every kind it counts.
struct WrkResult: CustomStringConvertible {
    var requests: Int
    var non2xx: Int
    var socketErrors: Int
    var output: String

    var failures: Int { non2xx + socketErrors }
    var description: String { "\(requests) requests, \(non2xx) non-2xx, \(socketErrors) socket errors\n\(output)" }
}

enum Wrk {
    /// Loads `service` through `server`'s gateway with 4 connections from before `step` until
    /// after it, and returns what wrk counted.
    ///
    /// The load is seen to reach the gateway before the step starts and to go on being
    /// answered after it ends; only then is wrk stopped. So the load spans the step however
    /// slowly a busy machine runs either.
    static func during(
        _ server: ServerHarness, service: String, _ step: @escaping @Sendable () async throws -> Void
    ) async throws -> WrkResult {
        let output = try await ChildProcess.run(
            "/usr/bin/wrk",
            [
                "-t1", "-c4", "-d10m", "-H", "Host: \(service).localhost:\(server.httpPort)", "--timeout", "10s",
                "http://127.0.0.1:\(server.httpPort)/",
            ]
        ) {
            let before = try await TrafficTests.answered(server, service)
            try await eventually("wrk's requests reach the gateway", within: .seconds(30)) {
                try await TrafficTests.answered(server, service) > before
            }
            try await step()
            let after = try await TrafficTests.answered(server, service)
            try await eventually("wrk's requests are answered after the step", within: .seconds(30)) {
                try await TrafficTests.answered(server, service) >= after + 20
            }
        }
        guard output.status == 0 else { throw HarnessError("wrk exited with \(output.status): \(output.combined)") }
        return try parse(output.stdout)
    }

    static func run(url: String, host: String, connections: Int, duration: String) async throws -> WrkResult {
        try parse(
            try await Command.run(
                "/usr/bin/wrk",
                ["-t1", "-c\(connections)", "-d\(duration)", "-H", "Host: \(host)", "--timeout", "10s", url]))
    }

    /// Reads wrk's report.
    private static func parse(_ output: String) throws -> WrkResult {
        func number(after label: String) -> Int {
            guard let range = output.range(of: label) else { return 0 }
            return Int(
                output[range.upperBound...].prefix { $0.isNumber || $0 == " " }.trimmingCharacters(in: .whitespaces))
                ?? 0
        }
        var socketErrors = 0
        if let line = output.split(separator: "\n").first(where: { $0.contains("Socket errors:") }) {
            socketErrors = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.reduce(0, +)
        }
        guard let total = output.split(separator: "\n").first(where: { $0.contains("requests in") }),
            let requests = Int(total.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber })
        else { throw HarnessError("wrk printed no request count:\n\(output)") }
        return WrkResult(
            requests: requests, non2xx: number(after: "Non-2xx or 3xx responses:"), socketErrors: socketErrors,
            output: output)
    }
}

enum Promtool {
    /// `promtool check metrics` on `text`: empty when it finds nothing to complain about.
    static func check(_ text: String) async throws -> String {
        let result = try await ChildProcess.run("/usr/bin/promtool", ["check", "metrics"], input: text)
        return result.status == 0 ? "" : "status \(result.status): \(result.combined)"
    }
}

enum Command {
    /// Runs a program to completion and returns what it printed.
    static func run(_ path: String, _ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.run(path, arguments)
        guard result.status == 0 else { throw HarnessError("\(path) exited with \(result.status): \(result.combined)") }
        return result.stdout
    }
}
