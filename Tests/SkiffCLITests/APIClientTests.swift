import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SkiffModel
import SkiffTestSupport
import Testing

@testable import SkiffCLI

/// The API client against a stub HTTP server on 127.0.0.1: routes, headers, bodies and the
/// one-line errors users see.
struct APIClientTests {
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
    }

    static func error(_ code: String, _ message: String) -> String {
        json(APIErrorBody(code: code, message: message))
    }

    @Test func connectionRefusedSaysTheServerCannotBeReached() async throws {
        // A port that was just listened on and is closed again.
        let url = try await StubAPIServer.with(route: { _ in .init(.ok) }, { $0.url })
        let error = await #expect(throws: CLIError.self) {
            try await APIClient.with(server: url, token: nil) { try await $0.services() }
        }
        #expect(error?.code == .unreachable)
        #expect(
            error?.message == "cannot reach the Skiff server at \(url): connection refused (is `skiff server` running?)"
        )
    }

    @Test func sendsTheTokenAndDecodesServices() async throws {
        let route: StubAPIServer.Route = { request in
            request.uri == "/v1/services" ? .init(.ok, APIClientTests.json([Fixtures.service])) : .init(.notFound)
        }
        try await StubAPIServer.with(route: route) { stub in
            let services = try await APIClient.with(server: stub.url + "/", token: "skf_t") { try await $0.services() }
            #expect(services == [Fixtures.service])
            let request = try #require(stub.requests.first)
            #expect(request.method == .GET)
            #expect(request.headers["Authorization"] == ["Bearer skf_t"])
        }
    }

    @Test func apiErrorsCarryTheServersMessage() async throws {
        let route: StubAPIServer.Route = { _ in
            .init(.notFound, APIClientTests.error("not_found", "service \"x\" not found"))
        }
        try await StubAPIServer.with(route: route) { stub in
            let error = await #expect(throws: CLIError.self) {
                try await APIClient.with(server: stub.url, token: "t") { try await $0.service("x") }
            }
            #expect(error?.message == "service \"x\" not found")
            #expect(error?.apiCode == "not_found" && error?.status == 404)
            #expect(SkiffCommand.report(for: try #require(error)).text == "error: service \"x\" not found")
            let missing = try await APIClient.with(server: stub.url, token: "t") { try await $0.serviceIfExists("x") }
            #expect(missing == nil)
        }
    }

    @Test func rejectedTokenSaysToLogIn() async throws {
        let route: StubAPIServer.Route = { _ in .init(.unauthorized, APIClientTests.error("unauthorized", "bad token"))
        }
        try await StubAPIServer.with(route: route) { stub in
            let error = await #expect(throws: CLIError.self) {
                try await APIClient.with(server: stub.url, token: "wrong") { try await $0.images() }
            }
            #expect(error?.message == "the server rejected the token (401): run skiff login")
        }
    }

    @Test func answerThatIsNotAnAPIErrorIsStillOneLine() async throws {
        let route: StubAPIServer.Route = { _ in .init(.badGateway, "<html>\n<body>bad gateway</body>\n</html>") }
        try await StubAPIServer.with(route: route) { stub in
            let error = await #expect(throws: CLIError.self) {
                try await APIClient.with(server: stub.url, token: nil) { try await $0.services() }
            }
            #expect(error?.code == .badResponse)
            #expect(error?.message.contains("answered 502") == true)
            #expect(error?.message.contains("\n") == false)
        }
    }

    @Test func deployPutsTheSpecAndReportsCreation() async throws {
        let route: StubAPIServer.Route = { request in
            request.method == .PUT ? .init(.created, APIClientTests.json(Fixtures.service)) : .init(.notFound)
        }
        try await StubAPIServer.with(route: route) { stub in
            let (service, created) = try await APIClient.with(server: stub.url, token: "t") {
                try await $0.deploy("web", spec: Fixtures.spec)
            }
            #expect(created)
            #expect(service.latestRevision == "web-00002")
            let request = try #require(stub.requests.first)
            #expect(request.uri == "/v1/services/web")
            #expect(request.headers["Content-Type"] == ["application/json"])
            #expect(try JSONDecoder().decode(ServiceSpec.self, from: Data(request.body)) == Fixtures.spec)
        }
    }

    @Test func imageLoadStreamsTheLayoutAsATarWithRefAndTag() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let layout = TemporaryDirectory(existing: directory.path + "/layout")
        try layout.write("oci-layout", #"{"imageLayoutVersion":"1.0.0"}"#)
        try layout.write("index.json", #"{"schemaVersion":2,"manifests":[]}"#)
        try layout.write("blobs/sha256/" + String(repeating: "2", count: 64), Data(repeating: 3, count: 300_000))
        let result = LoadImageResult(image: Fixtures.image, newBlobs: 1, unpackedLayers: 0)
        let archive = try await LayoutArchive.plan(directory: layout.path)

        let route: StubAPIServer.Route = { _ in .init(.created, APIClientTests.json(result)) }
        try await StubAPIServer.with(route: route) { stub in
            let loaded = try await APIClient.with(server: stub.url, token: "t") {
                try await $0.loadImage(
                    archive: .stream(archive, length: .known(archive.size)), ref: "v1", tag: "hello:v1")
            }
            #expect(loaded == result)
            let request = try #require(stub.requests.first)
            #expect(request.method == .POST)
            #expect(request.uri == "/v1/images/load?ref=v1&tag=hello:v1")
            #expect(request.headers["Content-Type"] == ["application/x-tar"])
            #expect(Int64(request.body.count) == archive.size)
            let file = try directory.write("sent.tar", Data(request.body))
            let names = try await ChildProcess.run("/bin/tar", ["-tf", file]).stdout
            #expect(names.contains("blobs/sha256/" + String(repeating: "2", count: 64)))
        }
    }

    @Test func logsAreReturnedAsAStreamWithFollowAndTail() async throws {
        let route: StubAPIServer.Route = { _ in
            var reply = StubAPIServer.Reply(.ok, "web-1 | hello\nweb-1 | world\n")
            reply.contentType = "text/plain"
            return reply
        }
        try await StubAPIServer.with(route: route) { stub in
            let text = try await APIClient.with(server: stub.url, token: "t") { client in
                var collected = ""
                for try await chunk in try await client.logs(of: "web", follow: true, tail: 5) {
                    collected += String(buffer: chunk)
                }
                return collected
            }
            #expect(text == "web-1 | hello\nweb-1 | world\n")
            #expect(stub.requests.first?.uri == "/v1/services/web/logs?follow=true&tail=5")
        }
    }
}
