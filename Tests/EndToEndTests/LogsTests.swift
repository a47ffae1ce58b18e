import Foundation
import SkiffTestSupport
import Testing

/// `skiff logs` as users read it: the running instances' output, and with `--ended` that of
/// instances already gone, whose logs the server keeps for a while.
@Suite struct LogsTests {
    @Test(.enabled(if: E2E.enabled)) func endedInstancesKeepTheirLogsAndShowWithEnded() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "web", "--image", "hello:v1"])
            _ = try await server.skiffOK(["deploy", "webby", "--image", "hello:v1"])
            let first = try #require(try await instancesJSON(server, "web").first?["id"] as? String)
            try await eventually("the first instance's start line") {
                try await server.skiffOK(["logs", "web"]).contains("\(first) | hello: serving")
            }

            // A new revision replaces the instance; the old one's log stays on disk.
            _ = try await server.skiffOK(["deploy", "web", "--env", "GREETING=two"])
            try await eventually("the first instance gone") {
                try await instancesJSON(server, "web").allSatisfy { $0["id"] as? String != first }
            }
            let second = try #require(try await instancesJSON(server, "web").first?["id"] as? String)
            try await eventually("the second instance's start line") {
                try await server.skiffOK(["logs", "web"]).contains("\(second) | hello: serving")
            }
            #expect(!(try await server.skiffOK(["logs", "web"])).contains(first))

            let all = try await server.skiffOK(["logs", "web", "--ended"])
            let ended = try #require(all.range(of: "\(first) | hello: serving"), "\(all)")
            let running = try #require(all.range(of: "\(second) | hello: serving"), "\(all)")
            #expect(ended.lowerBound < running.lowerBound, "the ended instance comes first")
            // Only this service's instances: webby's share no revision with web.
            #expect(!all.contains("webby-"), "\(all)")
            #expect(try await server.skiffOK(["logs", "web", "--ended", "--tail", "1"]).contains("\(first) | "))
        }
    }
}
