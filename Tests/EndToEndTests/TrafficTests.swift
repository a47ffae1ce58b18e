import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1
import SkiffTestSupport
import Testing

/// Traffic splitting, tags and rollback with real containers, and `wrk` counting every failed
/// request while the traffic moves.
@Suite struct TrafficTests {
    static func service(_ server: ServerHarness, _ name: String) async throws -> [String: Any] {
        let response = try await server.get("/v1/services/\(name)")
        return try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
    }

    /// `revision → percent` of where the service's requests go now.
    static func split(_ server: ServerHarness, _ name: String) async throws -> [String: Int] {
        let status = try await service(server, name)["trafficStatus"] as? [[String: Any]] ?? []
        var split: [String: Int] = [:]
        for target in status {
            guard let revision = target["revision"] as? String, let percent = target["percent"] as? Int, percent > 0
            else { continue }
            split[revision, default: 0] += percent
        }
        return split
    }

    /// Requests the gateway answered for `service`, whatever their status, from `/metrics`.
    static func answered(_ server: ServerHarness, _ service: String) async throws -> Int {
        try await served(server, service, code: nil).values.reduce(0, +)
    }

    /// Requests the gateway answered with `code` (nil: any) per revision of `service`, from
    /// `/metrics`.
    static func served(_ server: ServerHarness, _ service: String, code: Int? = 200) async throws -> [String: Int] {
        let metrics = try await server.get("/metrics").body
        var counts: [String: Int] = [:]
        let prefix = #"skiff_requests_total{service="\#(service)",revision=""#
        for line in metrics.split(separator: "\n")
        where line.hasPrefix(prefix) && (code.map { line.contains(#"code="\#($0)""#) } ?? true) {
            let rest = line.dropFirst(prefix.count)
            guard let quote = rest.firstIndex(of: "\""),
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { continue }
            counts[String(rest[..<quote]), default: 0] += Int(value)
        }
        return counts
    }

    @Test(.enabled(if: E2E.enabled)) func aTaggedRevisionHasItsOwnURLAndTheSplitHoldsWithinTwoPercent() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1", "--min-instances", "1"])
            let deployed = try await server.skiffOK(
                ["deploy", "web", "--env", "GREETING=canary", "--no-traffic", "--tag", "canary"])
            #expect(deployed.contains("canary---web.localhost"), "\(deployed)")
            #expect(try await Self.split(server, "web") == ["web-00001": 100])
            let tagged = try await server.gateway("/cgi-bin/hello", host: "canary---web.localhost")
            #expect(tagged.status == .ok)
            #expect(tagged.body.hasPrefix("canary from web-00002-"), "\(tagged.body)")
            let main = try await server.gateway("/cgi-bin/hello", host: "web.localhost")
            #expect(main.body.hasPrefix("hello from web-00001-"), "\(main.body)")
            let unknownTag = try await server.gateway("/", host: "nope---web.localhost")
            #expect(unknownTag.status == .notFound)

            let table = try await server.skiffOK(["traffic", "web", "--to", "web-00001=90", "--to", "web-00002=10"])
            #expect(
                table.split(separator: "\n").contains { $0.hasPrefix("web-00002") && $0.contains("10%") }, "\(table)")
            #expect(try await Self.split(server, "web") == ["web-00001": 90, "web-00002": 10])

            let before = try await Self.served(server, "web")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<1250 {
                            let response = try await server.gateway("/", host: "web.localhost")
                            guard response.status == .ok else {
                                throw HarnessError("a split request got \(response.status)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let after = try await Self.served(server, "web")
            let first = after["web-00001", default: 0] - before["web-00001", default: 0]
            let second = after["web-00002", default: 0] - before["web-00002", default: 0]
            #expect(first + second == 10_000)
            #expect((800...1200).contains(second), "web-00002 served \(second) of 10 000 at a 10 % share")

            // Bad traffic changes nothing and says why.
            let sum = try await server.skiff(["traffic", "web", "--to", "web-00001=50"])
            #expect(sum.stderr.contains("must sum to 100, not 50"), "\(sum.stderr)")
            let unknown = try await server.skiff(["traffic", "web", "--to", "web-00009=100"])
            #expect(unknown.stderr.contains("web-00009"), "\(unknown.stderr)")
            let deleting = try await server.skiff(["revisions", "delete", "web-00001"])
            #expect(deleting.stderr.contains("receives 90 %"), "\(deleting.stderr)")
            // Most traffic is on the oldest revision: nothing is older, and the error says
            // what can be named instead.
            let nothingOlder = try await server.skiff(["rollback", "web"])
            #expect(nothingOlder.status != 0)
            #expect(nothingOlder.stderr.contains("no ready revision older than web-00001"), "\(nothingOlder.stderr)")
            #expect(nothingOlder.stderr.contains("name one with --to (web-00002)"), "\(nothingOlder.stderr)")
            #expect(try await Self.split(server, "web") == ["web-00001": 90, "web-00002": 10])

            // Untag, to latest: the canary URL is gone and the latest revision takes everything.
            _ = try await server.skiffOK(["traffic", "web", "--to-latest", "--untag", "canary"])
            #expect(try await Self.split(server, "web") == ["web-00002": 100])
            #expect(try await server.gateway("/", host: "canary---web.localhost").status == .notFound)
        }
    }

    /// The issue's zero-failure walk: wrk runs while a new revision deploys, traffic splits,
    /// a rollback happens, and deploys that fail (a bad image, a crashing entrypoint) leave the
    /// traffic where it was.
    @Test(.enabled(if: E2E.enabled)) func noRequestFailsWhileTrafficMoves() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1", "--min-instances", "1"])
            /// Runs `step` while wrk loads the service, and checks that no request failed.
            func underLoad(_ what: String, _ step: @escaping @Sendable () async throws -> Void) async throws {
                let result = try await Wrk.during(server, service: "web", step)
                #expect(result.failures == 0, "\(what): \(result)")
            }

            try await underLoad("deploy of a new revision") {
                _ = try await server.skiffOK(["deploy", "web", "--env", "GREETING=v2"])
            }
            #expect(try await Self.split(server, "web") == ["web-00002": 100])

            try await underLoad("a 90/10 split") {
                _ = try await server.skiffOK(["traffic", "web", "--to", "web-00001=90", "--to", "web-00002=10"])
            }
            try await underLoad("a rollback") {
                _ = try await server.skiffOK(["rollback", "web", "--to", "web-00002"])
                _ = try await server.skiffOK(["rollback", "web"])
            }
            #expect(try await Self.split(server, "web") == ["web-00001": 100])
            _ = try await server.skiffOK(["traffic", "web", "--to-latest"])

            try await underLoad("a deploy of an image that does not exist") {
                let missing = try await server.skiff(["deploy", "web", "--image", "nothing:here"])
                #expect(missing.status != 0)
            }
            #expect(try await Self.split(server, "web") == ["web-00002": 100])

            try await underLoad("a revision whose entrypoint is not in the image") {
                let missing = try await server.skiff(["deploy", "web", "--command", "/bin/nonexistent"])
                #expect(missing.status != 0)
                #expect(missing.stderr.contains("revision web-00003 of web failed: image"), "\(missing.stderr)")
            }
            #expect(try await Self.split(server, "web") == ["web-00002": 100])

            try await underLoad("a revision whose entrypoint crashes") {
                let crashing = try await server.skiff(
                    ["deploy", "web", "--command", "/bin/sh", "--args", "-c", "--args", "echo boom >&2; exit 3"])
                #expect(crashing.status != 0)
                #expect(crashing.stderr.contains("revision web-00004 of web failed: crash"), "\(crashing.stderr)")
                #expect(crashing.stderr.contains("boom"), "the last log lines: \(crashing.stderr)")
            }
            #expect(try await Self.split(server, "web") == ["web-00002": 100])

            try await underLoad("a revision whose readiness probe never passes") {
                let never = try await server.skiff([
                    "deploy", "web", "--command", "", "--args", "", "--readiness-probe",
                    "httpGet.path=/missing,periodSeconds=1,failureThreshold=2",
                ])
                #expect(never.status != 0)
                #expect(never.stderr.contains("failed: probe"), "\(never.stderr)")
            }
            #expect(try await Self.split(server, "web") == ["web-00002": 100])
            let main = try await server.gateway("/cgi-bin/hello", host: "web.localhost")
            #expect(main.body.hasPrefix("v2 from web-00002-"), "\(main.body)")
        }
    }
}
