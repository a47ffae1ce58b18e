import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// The built-in registry as users reach it: skopeo pushes, inspects, pulls and syncs, and
/// the pushed image deploys by its registry name and serves.
@Suite(.serialized) struct RegistryClientTests {
    /// Runs skopeo (or any tool) and returns its output; a failure fails the test with stderr.
    private func tool(_ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.run("/usr/bin/env", arguments)
        guard result.status == 0 else {
            throw HarnessError("\(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result.stdout
    }

    @Test(.enabled(if: E2E.enabled && FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo")))
    func skopeoPushPullSyncAndDeploy() async throws {
        try await E2E.withServer { server in
            let registry = "127.0.0.1:\(server.apiPort)"
            let creds = "skiff:\(server.token)"
            let layout = server.dataDir + "/sample"

            // Push one image under two tags; the second push finds every blob already there.
            for tag in ["v1", "v2"] {
                _ = try await tool([
                    "skopeo", "copy", "--dest-creds", creds, "--dest-tls-verify=false",
                    "oci:\(layout):v1", "docker://\(registry)/team/hello:\(tag)",
                ])
            }
            let inspected = try await tool([
                "skopeo", "inspect", "--creds", creds, "--tls-verify=false", "docker://\(registry)/team/hello:v1",
            ])
            let info = try #require(try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [String: Any])
            #expect((info["RepoTags"] as? [String])?.sorted() == ["v1", "v2"])
            let digest = try #require(info["Digest"] as? String)

            // The same manifest comes back byte for byte.
            let local = try await tool(["skopeo", "inspect", "--raw", "oci:\(layout):v1"])
            let remote = try await tool([
                "skopeo", "inspect", "--raw", "--creds", creds, "--tls-verify=false",
                "docker://\(registry)/team/hello@\(digest)",
            ])
            #expect(local == remote)

            // An image loaded with `skiff images load` is served too, by tag and by digest.
            let loaded = try await tool([
                "skopeo", "inspect", "--creds", creds, "--tls-verify=false", "docker://\(registry)/hello:v1",
            ])
            let loadedInfo = try #require(try JSONSerialization.jsonObject(with: Data(loaded.utf8)) as? [String: Any])
            let loadedDigest = try #require(loadedInfo["Digest"] as? String)
            _ = try await tool([
                "skopeo", "inspect", "--raw", "--creds", creds, "--tls-verify=false",
                "docker://\(registry)/hello@\(loadedDigest)",
            ])

            // Pull back into a layout, and sync every tag of the repository into a directory.
            _ = try await tool([
                "skopeo", "copy", "--src-creds", creds, "--src-tls-verify=false",
                "docker://\(registry)/team/hello:v2", "oci:\(server.dataDir)/pulled:v2",
            ])
            #expect(FileManager.default.fileExists(atPath: server.dataDir + "/pulled/index.json"))
            _ = try await tool([
                "skopeo", "sync", "--src", "docker", "--dest", "dir", "--src-creds", creds, "--src-tls-verify=false",
                "\(registry)/team/hello", server.dataDir + "/synced",
            ])
            // skopeo names each copy after the repository's last component and the tag.
            let synced = try FileManager.default.contentsOfDirectory(atPath: server.dataDir + "/synced")
            #expect(synced.sorted() == ["hello:v1", "hello:v2"])

            // podman pulls too (vfs storage under the test's directory: no mounts to leak).
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/podman") {
                let storage = [
                    "--root", server.dataDir + "/podman/root", "--runroot", server.dataDir + "/podman/run",
                    "--storage-driver", "vfs",
                ]
                _ = try await tool(
                    ["env", "HOME=\(server.dataDir)/podman", "podman"] + storage + [
                        "pull", "--quiet", "--tls-verify=false", "--creds", creds, "\(registry)/team/hello:v1",
                    ])
                let listed = try await tool(
                    ["env", "HOME=\(server.dataDir)/podman", "podman"] + storage + [
                        "images", "--format", "{{.Repository}}:{{.Tag}}",
                    ])
                #expect(listed.contains("\(registry)/team/hello:v1"))
            } else if ProcessInfo.processInfo.environment["SKIFF_E2E"] == "required" {
                Issue.record("podman is missing: make test installs it")
            }

            // Without credentials the registry challenges; a wrong password is refused.
            let unknownToken = try await server.get("/v2/", token: "not-a-token")
            #expect(unknownToken.status == .unauthorized)
            await #expect(throws: HarnessError.self) {
                try await tool([
                    "skopeo", "inspect", "--creds", "skiff:wrong", "--tls-verify=false",
                    "docker://\(registry)/team/hello:v1",
                ])
            }

            // A read token limited to team/* pulls there, and neither pushes nor reads elsewhere.
            let reader = try await server.skiffOK(["tokens", "create", "--role", "read", "--repository", "team/*"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await tool([
                "skopeo", "inspect", "--creds", "ci:\(reader)", "--tls-verify=false",
                "docker://\(registry)/team/hello:v1",
            ])
            await #expect(throws: HarnessError.self) {
                try await tool([
                    "skopeo", "copy", "--dest-creds", "ci:\(reader)", "--dest-tls-verify=false", "oci:\(layout):v1",
                    "docker://\(registry)/team/other:v1",
                ])
            }
            let denied = try await server.get("/v1/services", token: reader)
            #expect(denied.status == .forbidden)

            // The pushed image lists, deploys by its registry name (resolved locally) and serves.
            let images = try await server.skiffOK(["images", "list"])
            #expect(images.contains("team/hello:v1"))
            let output = try await server.skiffOK([
                "deploy", "pushed", "--image", "\(registry)/team/hello:v2", "--port", "8080",
            ])
            #expect(output.contains("ready"))
            let response = try await server.gateway("/", host: "pushed.localhost")
            #expect(response.status == .ok)
            #expect(response.body.contains("Hello from Skiff"))
            let described = try await server.skiffOK(["services", "describe", "pushed", "-o", "json"])
            #expect(described.contains(digest))
            _ = try await server.skiffOK(["services", "delete", "pushed"])

            // The CLI's own push, listing by repository, deleting a tag, and gc.
            let pushed = try await server.skiffOK(["push", layout + ":v1", "\(registry)/team/cli:v1"])
            #expect(pushed.contains("0 blobs uploaded"), "every blob was already in the store: \(pushed)")
            let listed = try await server.skiffOK(["images", "list", "--repository", "team/cli"])
            #expect(listed.contains("team/cli:v1") && !listed.contains("team/hello"))
            _ = try await server.skiffOK(["images", "delete", "team/hello:v1"])
            await #expect(throws: HarnessError.self) {
                try await tool([
                    "skopeo", "inspect", "--creds", creds, "--tls-verify=false", "docker://\(registry)/team/hello:v1",
                ])
            }
            let gc = try await server.skiffOK(["images", "gc", "--dry-run", "-o", "json"])
            let result = try #require(try JSONSerialization.jsonObject(with: Data(gc.utf8)) as? [String: Any])
            #expect((result["removed"] as? [String]) == [], "a fresh push is within the grace period: \(gc)")
            #expect(result["dryRun"] as? Bool == true)
        }
    }

    /// A push cut off halfway leaves nothing under the digest and no temporary file.
    @Test(.enabled(if: E2E.enabled)) func aClientThatDisconnectsMidUploadLeavesNoBlob() async throws {
        try await E2E.withServer { server in
            let whole = String(repeating: "x", count: 1_000_000)
            let digest =
                "sha256:"
                + (try await tool(["sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' x | sha256sum"]))
                .prefix(64)
            let auth = Data("skiff:\(server.token)".utf8).base64EncodedString()
            // Declares a megabyte, sends a tenth of it, and hangs up.
            let script = """
                import socket, sys
                s = socket.create_connection(("127.0.0.1", \(server.apiPort)))
                s.sendall(b"POST /v2/team/cut/blobs/uploads/?digest=\(digest) HTTP/1.1\\r\\nHost: x\\r\\n"
                          b"Authorization: Basic \(auth)\\r\\nContent-Length: \(whole.utf8.count)\\r\\n\\r\\n" + b"x" * 100000)
                s.close()
                """
            _ = try await tool(["python3", "-c", script])
            // Headers far beyond any sane size are refused, not buffered.
            let huge = """
                import socket
                s = socket.create_connection(("127.0.0.1", \(server.apiPort)))
                s.sendall(b"GET /v2/ HTTP/1.1\\r\\nHost: x\\r\\nX-Big: " + b"a" * 1000000 + b"\\r\\n\\r\\n")
                answer = s.recv(100)
                print(answer.split(b"\\r\\n")[0].decode() if answer else "closed")
                """
            let answer = (try? await tool(["python3", "-c", huge])) ?? "closed"
            #expect(!answer.contains(" 200 "), "a 1 MB header was accepted: \(answer)")
            #expect(try await server.get("/v1/health").status == .ok, "the server survives it")

            let blob = server.dataDir + "/blobs/sha256/" + digest.dropFirst("sha256:".count)
            let ingest = server.dataDir + "/blobs/ingest"
            try await eventually("the cut upload's temporary file to go", within: .seconds(20)) {
                ((try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? ["?"]).isEmpty
            }
            #expect(!FileManager.default.fileExists(atPath: blob))
            let head = try await server.get("/v2/team/cut/blobs/\(digest)")
            #expect(head.status == .notFound)
        }
    }
}
