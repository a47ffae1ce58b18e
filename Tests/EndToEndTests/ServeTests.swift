import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// The walking platform: an image deployed with the CLI answers through the gateway from
/// real runc containers, with its settings, limits and isolation visible from inside.
@Suite(.serialized) struct ServeTests {
    @Test(.enabled(if: E2E.enabled)) func deployedImageServesThroughGatewayWithItsSettings() async throws {
        try await E2E.withServer { server in
            let output = try await server.skiffOK([
                "deploy", "web", "--image", "hello:v1", "--port", "8080", "--env", "GREETING=hi", "--memory", "128Mi",
                "--cpu", "0.5", "--min-instances", "2",
                // Kills a process below: a frozen one would not die until thawed.
                "--freeze-after", "0",
            ])
            #expect(output.contains("http://web.localhost:\(server.httpPort)/"))

            let instances = try await instancesJSON(server, "web")
            #expect(instances.count == 2)
            #expect(instances.allSatisfy { $0["state"] as? String == "ready" })
            for key in ["id", "service", "revision", "state", "address", "startedAt", "restarts"] {
                #expect(instances.allSatisfy { $0[key] != nil }, "instances JSON lacks \(key)")
            }
            let ids = Set(instances.compactMap { $0["id"] as? String })

            // Served by the container, balanced over both instances.
            var answeredBy = Set<String>()
            for _ in 0..<20 {
                let response = try await server.gateway("/cgi-bin/hello", host: "web.localhost")
                #expect(response.status == .ok)
                let words = response.body.split(separator: " ")
                #expect(words.first == "hi")
                if let last = words.last { answeredBy.insert(last.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            #expect(answeredBy == ids)

            // Environment and identity inside the container.
            let env = try await server.gateway("/cgi-bin/env", host: "web.localhost").body
            #expect(env.contains("PORT=8080"))
            #expect(env.contains("GREETING=hi"))
            #expect(env.contains("ID=65534:65534"))
            #expect(ids.contains { env.contains("HOSTNAME=\($0)") })

            // Forwarding headers added by the gateway.
            let headers = try await server.gateway("/cgi-bin/headers", host: "web.localhost").body
            #expect(headers.contains("HTTP_X_FORWARDED_FOR=127.0.0.1"))
            #expect(headers.contains("HTTP_X_FORWARDED_PROTO=http"))
            #expect(headers.contains("HTTP_X_FORWARDED_HOST=web.localhost:\(server.httpPort)"))
            #expect(headers.contains("HTTP_FORWARDED=for=127.0.0.1"))

            // No capabilities for the unprivileged process; masked /proc paths.
            let status = try await server.gateway("/cgi-bin/probe", host: "web.localhost", query: "/proc/self/status")
                .body
            #expect(status.contains("CapEff:\t0000000000000000"))
            #expect(status.contains("NoNewPrivs:\t1"))
            let kcore = try await server.gateway("/cgi-bin/probe", host: "web.localhost", query: "/proc/kcore").body
            #expect(kcore.count < 200)

            // Limits in the instances' cgroups.
            for id in ids {
                let memory = try cgroupValue("memory", id, "memory.limit_in_bytes")
                #expect(memory == "134217728")
                #expect(try cgroupValue("cpu", id, "cpu.cfs_quota_us") == "50000")
                #expect(try cgroupValue("pids", id, "pids.max") != "max")
            }

            // Isolation: an instance reaches neither its sibling nor the host's API port.
            let target = try #require(instances.last)
            let targetID = try #require(target["id"] as? String)
            let targetAddress = try #require(target["address"] as? String)
            var crossAttempts = 0
            for _ in 0..<20 {
                let response = try await server.gateway(
                    "/cgi-bin/fetch", host: "web.localhost", query: "http://\(targetAddress)/")
                guard !response.body.contains("FROM=\(targetID)") else { continue }
                crossAttempts += 1
                #expect(response.body.contains("FETCH-FAILED"), "an instance reached its sibling: \(response.body)")
            }
            #expect(crossAttempts > 0)
            let gatewayIP = server.subnet.replacingOccurrences(of: ".0/24", with: ".1")
            let api = try await server.gateway(
                "/cgi-bin/fetch", host: "web.localhost", query: "http://\(gatewayIP):\(server.apiPort)/v1/health")
            #expect(api.body.contains("FETCH-FAILED"))

            // Unknown host and the logs of the instances.
            let unknown = try await server.gateway("/", host: "nope.localhost")
            #expect(unknown.status == .notFound)
            let logs = try await server.skiffOK(["logs", "web"])
            #expect(ids.contains { logs.contains($0) })

            // A killed instance is restarted and counted.
            let victim = try #require(instances.first?["id"] as? String)
            try await killInstanceProcess(victim)
            try await eventually("instance \(victim) restarted and ready") {
                let now = try await instancesJSON(server, "web")
                return now.contains {
                    $0["id"] as? String == victim && $0["restarts"] as? Int == 1 && $0["state"] as? String == "ready"
                }
            }
            #expect(try await server.gateway("/cgi-bin/hello", host: "web.localhost").status == .ok)

            // Delete stops and removes everything.
            _ = try await server.skiffOK(["services", "delete", "web"])
            #expect(try await server.gateway("/", host: "web.localhost").status == .notFound)
            let leftovers = await Leaks.find(bridge: nil, dataDir: server.dataDir)
            #expect(leftovers.isEmpty, "delete left: \(leftovers)")
        }
    }
}

/// The network namespaces this server attached ahead of time (waiting or in use).
func pooledNamespaces(_ server: ServerHarness) async -> Set<String> {
    Set(
        await Leaks.run(["ip", "netns", "list"]).split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix("skiffpool-\(server.bridge)-") })
}

func instancesJSON(_ server: ServerHarness, _ service: String) async throws -> [[String: Any]] {
    let output = try await server.skiffOK(["instances", service, "--output", "json"])
    guard let parsed = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] else {
        throw HarnessError("skiff instances \(service) --output json printed no JSON list: \(output.debugDescription)")
    }
    return parsed
}

func cgroupValue(_ controller: String, _ id: String, _ file: String) throws -> String {
    try String(contentsOfFile: "/sys/fs/cgroup/\(controller)/skiff/\(id)/\(file)", encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The runc containers whose bundles live in this server's data dir.
func runningContainers(_ server: ServerHarness) async throws -> [String] {
    try await RuncList.containers().filter { $0.bundle.hasPrefix(server.dataDir) }.map(\.id)
}

/// Kills the container's init process from outside, as an OOM kill or a crash would.
func killInstanceProcess(_ instanceID: String) async throws {
    let container = try #require(try await RuncList.containers().first { $0.id.hasSuffix(instanceID) })
    #expect(kill(pid_t(container.pid), SIGKILL) == 0)
}
