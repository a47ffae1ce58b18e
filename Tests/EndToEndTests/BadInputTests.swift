import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// Bad input gets one precise line on stderr, a non-zero exit, and changes nothing.
@Suite(.serialized) struct BadInputTests {
    @Test(.enabled(if: E2E.enabled)) func rejectedRequestsChangeNothing() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "keep", "--image", "hello:v1"])
            let before = try await server.skiffOK(["services", "describe", "keep", "--output", "json"])

            let cases: [([String], String)] = [
                (["deploy", "keep", "--image", "nosuch:v9"], "not found"),
                (["deploy", "keep", "--image", "hello:v1", "--memory", "lots"], "invalid memory"),
                (["deploy", "keep", "--image", "hello:v1", "--cpu", "fast"], "invalid cpu"),
                (["deploy", "keep", "--image", "hello:v1", "--port", "70000"], "port"),
                (["deploy", "Not_A_Label", "--image", "hello:v1"], "invalid service name"),
                (["deploy", "keep", "--image", "hello:v1", "--env", "NOEQUALS"], "NAME=VALUE"),
                (["services", "describe", "missing"], "not found"),
                (["services", "delete", "missing"], "not found"),
                (["images", "load", server.dataDir + "/no-such-layout"], "no-such-layout"),
            ]
            for (arguments, expected) in cases {
                let result = try await server.skiff(arguments)
                #expect(result.status != 0, "skiff \(arguments) succeeded")
                let lines = result.stderr.split(separator: "\n")
                #expect(lines.count == 1, "skiff \(arguments) printed \(lines.count) lines: \(result.stderr)")
                #expect(
                    result.stderr.lowercased().contains(expected.lowercased()), "skiff \(arguments): \(result.stderr)")
            }

            // A malformed layout: index.json points at a blob that is not there.
            let broken = server.dataDir + "/broken"
            try FileManager.default.createDirectory(atPath: broken + "/blobs/sha256", withIntermediateDirectories: true)
            try #"{"imageLayoutVersion":"1.0.0"}"#.write(
                toFile: broken + "/oci-layout", atomically: true, encoding: .utf8)
            let missing = String(repeating: "a", count: 64)
            try
                #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(missing)","size":10,"annotations":{"org.opencontainers.image.ref.name":"x:v1"}}]}"#
                .write(toFile: broken + "/index.json", atomically: true, encoding: .utf8)
            let load = try await server.skiff(["images", "load", broken])
            #expect(load.status != 0)
            #expect(load.stderr.contains(missing.prefix(12)), "\(load.stderr)")

            // A blob whose content does not match its name.
            let tampered = server.dataDir + "/tampered"
            try await E2E.buildSampleImage(into: tampered)
            let blobs = try FileManager.default.contentsOfDirectory(atPath: tampered + "/blobs/sha256")
            let largest = try #require(
                blobs.max {
                    (try? FileManager.default.attributesOfItem(atPath: tampered + "/blobs/sha256/" + $0)[.size] as? Int)
                        ?? 0
                        < (try? FileManager.default.attributesOfItem(atPath: tampered + "/blobs/sha256/" + $1)[.size]
                            as? Int) ?? 0
                })
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tampered + "/blobs/sha256/" + largest))
            try handle.seek(toOffset: 100)
            handle.write(Data("tampered".utf8))
            try handle.close()
            let tamperedLoad = try await server.skiff(["images", "load", tampered + ":v1", "--tag", "tampered:v1"])
            #expect(tamperedLoad.status != 0)
            #expect(tamperedLoad.stderr.lowercased().contains("digest"), "\(tamperedLoad.stderr)")
            let images = try await server.skiffOK(["images", "list", "--output", "json"])
            #expect(!images.contains("tampered"))

            // The same image as an oci-archive (a tar of the layout) loads too.
            let archive = server.dataDir + "/hello.tar"
            #expect(await Leaks.status(["tar", "-C", server.dataDir + "/sample", "-cf", archive, "."]) == 0)
            let loaded = try await server.skiffOK(["images", "load", archive + ":v1", "--tag", "archived:v1"])
            #expect(loaded.contains("archived:v1"))
            #expect(try await server.skiffOK(["images", "list"]).contains("archived:v1"))

            // Wrong token.
            let wrong = try await server.get("/v1/services", token: "skf_wrong")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.body.contains("\"unauthorized\""))

            // Nothing changed.
            let after = try await server.skiffOK(["services", "describe", "keep", "--output", "json"])
            #expect(try revision(of: before) == revision(of: after))
            #expect(try await server.gateway("/", host: "keep.localhost").status == .ok)

            // A revision whose entrypoint cannot start: the deploy fails with the reason and
            // the previous revision keeps serving.
            let crashing = try await server.skiff(["deploy", "keep", "--command", "/bin/no-such-server"])
            #expect(crashing.status != 0)
            #expect(crashing.stderr.contains("no-such-server"), "\(crashing.stderr)")
            for _ in 0..<5 {
                #expect(try await server.gateway("/", host: "keep.localhost").status == .ok)
            }
        }
    }

    @Test(.enabled(if: E2E.enabled)) func unreachableServerIsOneClearLine() async throws {
        let server = try ServerHarness()
        defer { try? FileManager.default.removeItem(atPath: server.dataDir) }
        let result = try await server.skiff(["services", "list"])
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("cannot reach"), "\(result.stderr)")
    }
}

private func revision(of json: String) throws -> String {
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    return try #require(object["latestRevision"] as? String)
}
