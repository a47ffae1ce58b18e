import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1
import SkiffTestSupport
import Testing

/// Restarts do not cost an outage: a crashed or restarted server adopts the instances that
/// still run, routes every stored service from its first request, and only SIGINT (the
/// platform stopping for good) stops the instances.
@Suite(.serialized) struct RestartTests {
    @Test(.enabled(if: E2E.enabled)) func aCrashedServersInstancesAreAdoptedAndNoRequestGets404() async throws {
        try await E2E.withServer { server in
            // Kills the instance's process below: a frozen one would not die until thawed.
            _ = try await server.skiffOK(
                ["deploy", "hello", "--image", "hello:v1", "--min-instances", "1", "--freeze-after", "0"])
            let before = try await instancesJSON(server, "hello")
            let id = try #require(before.first?["id"] as? String)
            let pid = try #require(try await RuncList.containers().first { $0.id.hasSuffix(id) }?.pid)
            let pooledBeforeCrash = await pooledNamespaces(server)

            let statuses = try await RequestLoop.during(server, host: "hello.localhost") {
                await server.kill()
                #expect(try await runningContainers(server).count == 1, "the crash left the instance running")
                try await server.start()
                try await eventually("hello served after the crash") {
                    try await server.gateway("/", host: "hello.localhost").status == .ok
                }
            }
            // While nothing listened, connections were refused; once it listened, no request
            // for the known service got a 404 (or anything but 200).
            #expect(statuses[200, default: 0] > 0 && statuses.keys.allSatisfy { $0 == 200 }, "answers: \(statuses)")

            let after = try await instancesJSON(server, "hello")
            #expect(after.map { $0["id"] as? String } == [id], "the same instance, adopted: \(after)")
            #expect(after.first?["state"] as? String == "ready")
            #expect(try await RuncList.containers().filter { $0.bundle.hasPrefix(server.dataDir) }.map(\.pid) == [pid])
            // The crashed run's pooled network namespaces that no instance uses are gone.
            try await eventually("the crashed run's unused pooled namespaces removed") {
                await pooledNamespaces(server).intersection(pooledBeforeCrash).count <= 1
            }
            // The adopted instance is supervised again: killed, it is restarted in place.
            try await killInstanceProcess(id)
            try await eventually("the adopted instance restarted", within: .seconds(30)) {
                let now = try await instancesJSON(server, "hello")
                return now.count == 1 && now[0]["id"] as? String == id && now[0]["restarts"] as? Int == 1
                    && now[0]["state"] as? String == "ready"
            }
            #expect(try await server.gateway("/", host: "hello.localhost").status == .ok)
        }
    }

    @Test(.enabled(if: E2E.enabled)) func sigtermKeepsInstancesForTheNextStartAndSigintStopsThem() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "hello", "--image", "hello:v1", "--min-instances", "2"])
            let ids = Set(try await instancesJSON(server, "hello").compactMap { $0["id"] as? String })
            #expect(ids.count == 2)

            // SIGTERM: the server exits, its instances keep running and answering.
            await server.terminate()
            #expect(try await runningContainers(server).count == 2)
            #expect(server.serverLog().contains("2 instance(s) keep running"), "\(server.serverLog())")

            try await server.start()
            let adopted = Set(try await instancesJSON(server, "hello").compactMap { $0["id"] as? String })
            #expect(adopted == ids, "the API lists the adopted instances as soon as it answers")
            #expect(try await server.gateway("/", host: "hello.localhost").status == .ok)
            #expect(try await runningContainers(server).count == 2)

            // SIGINT: the platform stops for good, instances included; the next start runs new ones.
            await server.stop()
            #expect(try await runningContainers(server).isEmpty)
            try await server.start()
            try await eventually("hello served by new instances") {
                try await server.gateway("/", host: "hello.localhost").status == .ok
            }
            let fresh = Set(try await instancesJSON(server, "hello").compactMap { $0["id"] as? String })
            #expect(fresh.isDisjoint(with: ids))
        }
    }

    @Test(.enabled(if: E2E.enabled)) func aServerStartedBesideARunningOneTakesOverWithoutLosingARequest() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "hello", "--image", "hello:v1", "--min-instances", "1"])
            let id = try #require(try await instancesJSON(server, "hello").first?["id"] as? String)
            let load = try await Wrk.during(server, service: "hello") { try await server.replace() }
            #expect(load.failures == 0, "\(load)")
            #expect(server.serverLog().contains("asking it to stop"), "\(server.serverLog())")
            #expect(try await instancesJSON(server, "hello").map { $0["id"] as? String } == [id])
            #expect(try await runningContainers(server).count == 1)
        }
    }

    @Test(.enabled(if: E2E.enabled)) func anInstanceThatDiedWhileTheServerWasDownIsReplaced() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "hello", "--image", "hello:v1", "--min-instances", "1"])
            let id = try #require(try await instancesJSON(server, "hello").first?["id"] as? String)
            await server.terminate()
            try await killInstanceProcess(id)

            try await server.start()
            try await eventually("hello served by a new instance") {
                try await server.gateway("/", host: "hello.localhost").status == .ok
            }
            try await eventually("only the new instance is left", within: .seconds(30)) {
                let instances = try await instancesJSON(server, "hello")
                let containers = try await runningContainers(server)
                return instances.count == 1 && instances[0]["id"] as? String != id && containers.count == 1
                    && !containers[0].hasSuffix(id)
            }
        }
    }
}

/// Sends one request after another to a service through the gateway from before `step`
/// until after it, and counts the answers by status; requests that found nothing listening
/// are not answers.
enum RequestLoop {
    static func during(
        _ server: ServerHarness, host: String, _ step: @escaping @Sendable () async throws -> Void
    ) async throws -> [UInt: Int] {
        let statuses = NIOLockedValueBox<[UInt: Int]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    if let response = try? await server.gateway("/", host: host) {
                        statuses.withLockedValue { $0[response.status.code, default: 0] += 1 }
                    } else {
                        try? await Task.sleep(for: .milliseconds(10))
                    }
                }
            }
            try await step()
            // The loop is seen answered after the step, however slowly a busy machine runs it.
            let answered = statuses.withLockedValue { $0[200, default: 0] }
            try await eventually("the request loop answered after the step", within: .seconds(30)) {
                statuses.withLockedValue { $0[200, default: 0] } >= answered + 5
            }
            group.cancelAll()
        }
        return statuses.withLockedValue { $0 }
    }
}
