import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1
import SkiffTestSupport
import Testing

/// Gradual rollouts with real containers: steps to the new revision, and automatic rollbacks
/// on a probe failure (under wrk, without a failed request) and on 5xx answers.
@Suite struct RolloutTests {
    static func rollout(_ server: ServerHarness, _ name: String) async throws -> [String: Any] {
        try await TrafficTests.service(server, name)["rollout"] as? [String: Any] ?? [:]
    }

    /// Serves /www like the image does, after running `before` (a shell snippet).
    static func serving(after before: String) -> [String] {
        ["--command", "/bin/sh", "--args", "-c", "--args", before + #"; exec httpd -f -p "$PORT" -h /www"#]
    }

    @Test(.enabled(if: E2E.enabled)) func stepsToTheNewRevisionThenRollsBackWhenItFailsAProbe() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1", "--min-instances", "1"])
            let deployed = try await server.skiffOK([
                "deploy", "web", "--env", "GREETING=v2", "--rollout", "gradual", "--rollout-step", "50",
                "--rollout-interval", "2s",
            ])
            #expect(deployed.contains("rolling out web-00002"), "\(deployed)")
            try await eventually("all traffic on web-00002", within: .seconds(30)) {
                try await TrafficTests.split(server, "web") == ["web-00002": 100]
            }
            #expect(try await Self.rollout(server, "web")["state"] as? String == "finished")
            // The history shows the steps (polling could miss a two-second step on a busy machine).
            let steps = try await ProbesTests.events(server, "web").filter { $0["reason"] as? String == "RolloutStep" }
                .compactMap { $0["message"] as? String }
            #expect(
                steps == ["web-00002 now takes 50% of the traffic", "web-00002 now takes 100% of the traffic"],
                "\(steps)")

            // A split in place: the next rollout scales it down step by step, and its rollback
            // restores it.
            _ = try await server.skiffOK(["traffic", "web", "--to", "web-00001=20", "--to", "web-00002=80"])

            // web-00003 turns unready four seconds after it starts: the rollout must send its
            // share back to the split while wrk runs, and no request may fail.
            let result = try await Wrk.during(server, service: "web") {
                _ = try await server.skiffOK(
                    [
                        "deploy", "web", "--rollout", "gradual", "--rollout-step", "50", "--rollout-interval", "30s",
                        "--readiness-probe", "httpGet.path=/cgi-bin/health,periodSeconds=1,failureThreshold=1",
                    ]
                        + Self.serving(after: "(sleep 4; : >/tmp/unhealthy) & true"))
                try await eventually("rolled back", within: .seconds(30), every: .milliseconds(50)) {
                    try await Self.rollout(server, "web")["state"] as? String == "rolledBack"
                }
            }
            #expect(result.failures == 0, "rollout and rollback under load: \(result)")
            #expect(try await TrafficTests.split(server, "web") == ["web-00001": 20, "web-00002": 80])
            let message = try await Self.rollout(server, "web")["message"] as? String ?? ""
            #expect(message.contains("readiness probe"), "\(message)")
            let described = try await server.skiffOK(["services", "describe", "web"])
            #expect(described.contains("RolledBack"), "\(described)")
            #expect(described.contains("traffic back to web-00001=20%, web-00002=80%"), "\(described)")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func aRolloutResumesAfterTheServerRestarts() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1", "--min-instances", "1"])
            _ = try await server.skiffOK([
                "deploy", "web", "--env", "GREETING=v2", "--rollout", "gradual", "--rollout-step", "50",
                "--rollout-interval", "1h",
            ])
            try await eventually("half the traffic on web-00002", within: .seconds(20)) {
                try await TrafficTests.split(server, "web") == ["web-00001": 50, "web-00002": 50]
            }
            await server.stop()
            try await server.start()
            try await eventually("the split is back after the restart", within: .seconds(30)) {
                try await TrafficTests.split(server, "web") == ["web-00001": 50, "web-00002": 50]
            }
            let resumed = try await Self.rollout(server, "web")
            #expect(resumed["state"] as? String == "progressing" && resumed["percent"] as? Int == 50, "\(resumed)")
            // Its checks run again: a rollback by hand ends it as it would have before.
            _ = try await server.skiffOK(["rollback", "web", "--to", "web-00001"])
            #expect(try await Self.rollout(server, "web")["state"] as? String == "aborted")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func rollsBackWhenTheNewRevisionAnswersTooMany5xx() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1", "--min-instances", "1"])
            _ = try await server.skiffOK(
                [
                    "deploy", "web", "--rollout", "gradual", "--rollout-step", "50", "--rollout-interval", "1m",
                    "--rollback-on-error-rate", "5%",
                ] + Self.serving(after: ": >/tmp/unhealthy"))
            try await eventually("half the traffic on web-00002", within: .seconds(20), every: .milliseconds(50)) {
                try await TrafficTests.split(server, "web") == ["web-00001": 50, "web-00002": 50]
            }
            var errors = 0
            for _ in 0..<200 {
                if try await server.gateway("/cgi-bin/health", host: "web.localhost").status == .internalServerError {
                    errors += 1
                }
                if try await Self.rollout(server, "web")["state"] as? String == "rolledBack" { break }
            }
            #expect(errors >= 1)
            try await eventually("rolled back") {
                try await Self.rollout(server, "web")["state"] as? String == "rolledBack"
            }
            #expect(try await TrafficTests.split(server, "web") == ["web-00001": 100])
            let message = try await Self.rollout(server, "web")["message"] as? String ?? ""
            #expect(message.contains("with 5xx"), "\(message)")
            // After the rollback every request is served by the good revision.
            for _ in 0..<20 {
                #expect(try await server.gateway("/cgi-bin/health", host: "web.localhost").status == .ok)
            }
        }
    }
}
