import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// `skiff revisions` against a real server: every changed deploy is a revision; the routed
/// one and the latest cannot be deleted; older ones can.
@Suite struct RevisionsTests {
    static func revisions(_ server: ServerHarness, _ service: String) async throws -> [[String: Any]] {
        let output = try await server.skiffOK(["revisions", "list", "--service", service, "-o", "json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
    }

    @Test(.enabled(if: E2E.enabled)) func listsDescribesAndDeletesOnlyWhatServesNothing() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1"])
            _ = try await server.skiffOK(["deploy", "web", "--env", "GREETING=v2"])
            // An unchanged deploy makes no revision.
            _ = try await server.skiffOK(["deploy", "web"])

            let listed = try await Self.revisions(server, "web")
            #expect(listed.map { $0["name"] as? String } == ["web-00001", "web-00002"])
            #expect(listed.map { $0["trafficPercent"] as? Int } == [0, 100])
            #expect(listed.last?["ready"] as? Bool == true)
            let table = try await server.skiffOK(["revisions", "list"])
            #expect(table.hasPrefix("NAME"))
            #expect(table.contains("web-00002   web       100%"))

            let described = try await server.skiffOK(["revisions", "describe", "web-00002"])
            #expect(described.contains("GREETING=v2"))
            #expect(described.contains("Traffic:"))

            let latest = try await server.skiff(["revisions", "delete", "web-00002"])
            #expect(latest.status != 0)
            #expect(latest.stderr.contains("is the latest of service web"), "\(latest.stderr)")
            let unknown = try await server.skiff(["revisions", "describe", "web-00009"])
            #expect(unknown.stderr.contains("revision \"web-00009\" not found"), "\(unknown.stderr)")
            let bad = try await server.skiff(["revisions", "delete", "Web_1"])
            #expect(bad.stderr.contains("invalid revision name"), "\(bad.stderr)")

            _ = try await server.skiffOK(["revisions", "delete", "web-00001"])
            #expect(try await Self.revisions(server, "web").map { $0["name"] as? String } == ["web-00002"])
            #expect(try await server.gateway("/", host: "web.localhost").status == .ok)
        }
    }
}
