import ArgumentParser
import Foundation
import NIOHTTP1
import SkiffModel
import Synchronization
import Testing

@testable import SkiffCLI

/// `skiff deploy` end to end against a stub API: reads the current service, puts the merged
/// spec, then polls until the new revision is ready or an instance of it failed.
struct DeployCommandTests {
    /// Counts the polls of `GET /v1/services/web` so the stub can change its answer.
    final class Polls: Sendable {
        private let count = Mutex(0)
        func next() -> Int {
            count.withLock { value in
                defer { value += 1 }
                return value
            }
        }
    }

    static func route(
        readyAfter polls: Int, instances: [Instance], existing: Service?, failure: RevisionFailure? = nil
    ) -> StubAPIServer.Route {
        let counter = Polls()
        return { request in
            switch (request.method, request.uri) {
            case (.GET, "/v1/services/web"):
                let poll = counter.next()
                guard let existing = poll == 0 ? existing : Fixtures.service else {
                    return .init(.notFound, APIClientTests.error("not_found", "service \"web\" not found"))
                }
                var service = existing
                service.readyInstances = poll > polls ? service.spec.minInstances : 0
                service.latestReadyRevision = poll > polls ? service.latestRevision : nil
                if poll > 0 { service.latestRevisionFailure = failure }
                service.trafficStatus = [ResolvedTarget(revision: "web-00001", percent: 100, latest: true)]
                return .init(.ok, APIClientTests.json(service))
            case (.PUT, "/v1/services/web"):
                var service = Fixtures.service
                service.readyInstances = 0
                return .init(existing == nil ? .created : .ok, APIClientTests.json(service))
            case (.GET, "/v1/services/web/instances"):
                return .init(.ok, APIClientTests.json(instances))
            default:
                return .init(.notFound, APIClientTests.error("not_found", "no route"))
            }
        }
    }

    static func command(_ arguments: [String], server: String) throws -> DeployCommand {
        try #require(
            try SkiffCommand.parseAsRoot(
                ["deploy", "web"] + arguments + ["--server", server, "--token", "t", "-o", "json"])
                as? DeployCommand)
    }

    @Test func createsThenPollsUntilReady() async throws {
        try await StubAPIServer.with(route: Self.route(readyAfter: 3, instances: Fixtures.instances, existing: nil)) {
            stub in
            try await Self.command(["--image", "hello:v1", "--min-instances", "2"], server: stub.url).run()
            let requests = stub.requests
            let put = try #require(requests.first { $0.method == .PUT })
            #expect(
                try JSONDecoder().decode(ServiceSpec.self, from: Data(put.body))
                    == ServiceSpec(image: "hello:v1", minInstances: 2))
            #expect(requests.filter { $0.uri == "/v1/services/web" && $0.method == .GET }.count == 5)
        }
    }

    @Test func updateSendsTheDeployedSpecWithTheGivenFlags() async throws {
        try await StubAPIServer.with(route: Self.route(readyAfter: 0, instances: [], existing: Fixtures.service)) {
            stub in
            try await Self.command(["--image", "hello:v2", "--no-wait"], server: stub.url).run()
            let put = try #require(stub.requests.first { $0.method == .PUT })
            var expected = Fixtures.spec
            expected.image = "hello:v2"
            #expect(try JSONDecoder().decode(ServiceSpec.self, from: Data(put.body)) == expected)
            #expect(!stub.requests.contains { $0.uri.hasSuffix("/instances") }, "--no-wait does not poll")
        }
    }

    @Test func failedRevisionEndsTheWaitWithItsReasonLogAndWhereTrafficStays() async throws {
        let failure = RevisionFailure(
            reason: .crash, message: "the process exited before it became ready", logTail: ["boom"])
        let route = Self.route(readyAfter: 100, instances: Fixtures.instances, existing: nil, failure: failure)
        try await StubAPIServer.with(route: route) { stub in
            let error = await #expect(throws: CLIError.self) {
                try await Self.command(["--image", "hello:v1"], server: stub.url).run()
            }
            #expect(
                error?.message == """
                    revision web-00002 of web failed: crash: the process exited before it became ready
                    last log lines:
                      boom
                    traffic stays on web-00001 100%
                    """)
        }
    }

    @Test func timesOutWithHowManyInstancesAreReady() async throws {
        try await StubAPIServer.with(route: Self.route(readyAfter: 1_000_000, instances: [], existing: nil)) { stub in
            let error = await #expect(throws: CLIError.self) {
                try await Self.command(["--image", "hello:v1", "--wait-timeout", "1ms"], server: stub.url).run()
            }
            #expect(error?.message.hasPrefix("service web is not ready after 1ms (0/2 instances ready)") == true)
        }
    }
}
