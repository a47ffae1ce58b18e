import AsyncHTTPClient
import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// Readiness, liveness and startup probes with real containers: an instance failing its
/// readiness probe leaves the balancer and comes back, one failing its liveness probe
/// restarts, and a revision whose probe never passes fails while the old one keeps serving.
@Suite struct ProbesTests {
    static func instance(_ server: ServerHarness, _ service: String) async throws -> [String: Any] {
        try #require(try await instancesJSON(server, service).first)
    }

    /// A request straight to the instance's bridge address, bypassing the gateway.
    static func direct(_ address: String, _ query: String) async throws -> ServerHarness.HTTPResult {
        try await ServerHarness.send(HTTPClientRequest(url: "http://\(address)/cgi-bin/health?\(query)"))
    }

    static func events(_ server: ServerHarness, _ service: String) async throws -> [[String: Any]] {
        let response = try await server.get("/v1/services/\(service)/events")
        return try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]] ?? []
    }

    @Test(.enabled(if: E2E.enabled)) func readinessTakesAnInstanceOutAndBackAndLivenessRestartsIt() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK([
                "deploy", "probed", "--image", "hello:v1", "--min-instances", "1", "--freeze-after", "0",
                "--readiness-probe", "httpGet.path=/cgi-bin/health,periodSeconds=1,failureThreshold=2",
                "--liveness-probe", "exec.command=test ! -e /tmp/dead,periodSeconds=1,failureThreshold=2",
            ])
            let first = try await Self.instance(server, "probed")
            let address = try #require(first["address"] as? String)
            let id = try #require(first["id"] as? String)

            // Readiness fails: out of the balancer, visible in `skiff instances`.
            #expect(try await Self.direct(address, "fail").status == .internalServerError)
            try await eventually("the instance is unready", within: .seconds(20)) {
                try await Self.instance(server, "probed")["state"] as? String == "unready"
            }
            let listed = try await server.skiffOK(["instances", "probed"])
            #expect(listed.contains("readiness failing"), "\(listed)")
            // A request meanwhile waits for capacity instead of reaching the unready instance.
            async let waiting = server.gateway("/", host: "probed.localhost")
            try await eventually("the request waits in the activator's queue") {
                try await server.get("/metrics").body.contains(
                    #"skiff_revision_queued_requests{service="probed",revision="probed-00001"} 1"#)
            }
            #expect(try await Self.direct(address, "ok").status == .ok)
            #expect(try await waiting.status == .ok)
            try await eventually("the instance is ready again") {
                try await Self.instance(server, "probed")["state"] as? String == "ready"
            }
            let reasons = try await Self.events(server, "probed").compactMap { $0["reason"] as? String }
            #expect(reasons.contains("NotReady") && reasons.contains("Ready"), "\(reasons)")

            // Liveness fails: the same instance restarts.
            _ = try await Self.direct(address, "die")
            try await eventually("the instance restarted", within: .seconds(30)) {
                let current = try await Self.instance(server, "probed")
                return current["restarts"] as? Int == 1 && current["state"] as? String == "ready"
            }
            #expect(try await Self.instance(server, "probed")["id"] as? String == id)
            let described = try await server.skiffOK(["services", "describe", "probed"])
            #expect(described.contains("liveness probe failed 2 times"), "\(described)")
            #expect(described.contains("Readiness probe:"), "\(described)")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func aRevisionWhoseProbeNeverPassesFailsAndTrafficStays() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1", "--min-instances", "1"])
            let failed = try await server.skiff([
                "deploy", "web", "--readiness-probe", "httpGet.path=/missing,periodSeconds=1,failureThreshold=2",
            ])
            #expect(failed.status != 0)
            #expect(failed.stderr.contains("revision web-00002 of web failed: probe"), "\(failed.stderr)")
            #expect(failed.stderr.contains("answered 404"), "\(failed.stderr)")
            #expect(failed.stderr.contains("traffic stays on web-00001 100%"), "\(failed.stderr)")
            #expect(try await server.gateway("/", host: "web.localhost").status == .ok)
            let described = try await server.skiffOK(["revisions", "describe", "web-00002"])
            #expect(described.contains("Ready:") && described.contains("failed"), "\(described)")
            #expect(described.contains("RevisionFailed"), "\(described)")
            // No instance of the failed revision is left running.
            try await eventually("the failed revision has no instances") {
                try await instancesJSON(server, "web").allSatisfy { $0["revision"] as? String == "web-00001" }
            }
            let refused = try await server.skiff(["traffic", "web", "--to", "web-00002=100"])
            #expect(refused.stderr.contains("failed and cannot take traffic"), "\(refused.stderr)")
        }
    }
}
