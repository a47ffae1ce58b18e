import Foundation
import SkiffTestSupport
import Testing

/// `--image` naming another registry: Debian's docker-registry on loopback as the upstream,
/// open and behind htpasswd, pulled through into the store and deployed.
@Suite(.serialized) struct PullThroughTests {
    static let registryBinary = "/usr/bin/docker-registry"

    /// A docker-registry on a free loopback port, stopped when `body` ends.
    private func withUpstream(
        in directory: String, htpasswd: String? = nil, tokenRealm: (url: String, certificate: String)? = nil,
        _ body: (Int) async throws -> Void
    ) async throws {
        let port = try ServerHarness.freePort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = """
            version: 0.1
            log: { level: error }
            storage: { filesystem: { rootdirectory: \(directory)/data } }
            http: { addr: 127.0.0.1:\(port) }

            """
        if let htpasswd { config += "auth: { htpasswd: { realm: test, path: \(htpasswd) } }\n" }
        if let tokenRealm {
            config += """
                auth: { token: { realm: "\(tokenRealm.url)", service: skiff-test-registry, issuer: skiff-test,
                                 rootcertbundle: \(tokenRealm.certificate) } }

                """
        }
        try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.registryBinary)
        process.arguments = ["serve", directory + "/config.yml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try await eventually("docker-registry to listen on \(port)", within: .seconds(20)) {
            await Leaks.status(["curl", "-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/v2/"]) == 0
        }
        try await body(port)
    }

    private func run(_ arguments: [String]) async throws {
        let status = await Leaks.status(arguments)
        guard status == 0 else { throw HarnessError("\(arguments.joined(separator: " ")) exited \(status)") }
    }

    @Test(.enabled(if: E2E.enabled && FileManager.default.isExecutableFile(atPath: registryBinary)))
    func deployPullsThroughFromAnOpenAndAPasswordProtectedRegistry() async throws {
        try await E2E.withServer { server in
            let layout = server.dataDir + "/sample"
            try await withUpstream(in: server.dataDir + "/open") { port in
                try await run([
                    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout):v1",
                    "docker://127.0.0.1:\(port)/lib/hello:v1",
                ])
                let output = try await server.skiffOK([
                    "deploy", "pulled", "--image", "127.0.0.1:\(port)/lib/hello:v1", "--port", "8080",
                ])
                #expect(output.contains("ready"))
                let response = try await server.gateway("/", host: "pulled.localhost")
                #expect(response.body.contains("Hello from Skiff"))
                let images = try await server.skiffOK(["images", "list"])
                #expect(images.contains("127.0.0.1:\(port)/lib/hello:v1"))

                let missing = try await server.skiff(["deploy", "absent", "--image", "127.0.0.1:\(port)/lib/none:v1"])
                #expect(missing.status != 0)
                #expect(missing.stderr.contains("not found"), "\(missing.stderr)")
                _ = try await server.skiffOK(["services", "delete", "pulled"])
            }

            // htpasswd wants bcrypt; glibc's crypt makes it without extra packages.
            let hash = try #require(
                await Leaks.run([
                    "python3", "-W", "ignore", "-c",
                    "import crypt; print(crypt.crypt('s3cret', crypt.mksalt(crypt.METHOD_BLOWFISH)))",
                ])
                .split(separator: "\n").first)
            let htpasswd = server.dataDir + "/htpasswd"
            try "alice:\(hash)\n".write(toFile: htpasswd, atomically: true, encoding: .utf8)
            try await withUpstream(in: server.dataDir + "/private", htpasswd: htpasswd) { port in
                try await run([
                    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret",
                    "oci:\(layout):v1",
                    "docker://127.0.0.1:\(port)/team/hello:v1",
                ])
                let image = "127.0.0.1:\(port)/team/hello:v1"
                let refused = try await server.skiff(["deploy", "private", "--image", image])
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("needs credentials"), "\(refused.stderr)")
                let wrong = try await server.skiff(
                    ["registries", "login", "127.0.0.1:\(port)", "--username", "alice"], stdin: "wrong\n")
                #expect(wrong.status == 0)
                let denied = try await server.skiff(["deploy", "private", "--image", image])
                #expect(denied.stderr.contains("refused access"), "\(denied.stderr)")
                _ = try await server.skiff(
                    ["registries", "login", "127.0.0.1:\(port)", "--username", "alice"], stdin: "s3cret\n")
                let output = try await server.skiffOK(["deploy", "private", "--image", image, "--port", "8080"])
                #expect(output.contains("ready"))
                #expect(!server.serverLog().contains("s3cret"), "the password must never be logged")
                _ = try await server.skiffOK(["services", "delete", "private"])
            }
        }
    }

    /// The token flow: docker-registry challenges with Bearer, a token service (Python, in
    /// Support/) checks the credentials and signs a JWT, the pull retries with it.
    @Test(.enabled(if: E2E.enabled && FileManager.default.isExecutableFile(atPath: registryBinary)))
    func deployPullsThroughWithTheBearerTokenFlow() async throws {
        try await E2E.withServer { server in
            let directory = server.dataDir + "/token"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tokenPort = try ServerHarness.freePort()
            let tokenServer = Process()
            tokenServer.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            tokenServer.arguments = [
                ServerHarness.packageRoot + "/Tests/EndToEndTests/Support/token_server.py", directory,
                String(tokenPort), "bob",
                "hunter2",
            ]
            tokenServer.standardOutput = FileHandle.nullDevice
            tokenServer.standardError = FileHandle.nullDevice
            try tokenServer.run()
            defer {
                // SIGKILL: the test process blocks SIGTERM, children inherit that mask, and
                // Python does not unblock it.
                kill(tokenServer.processIdentifier, SIGKILL)
                tokenServer.waitUntilExit()
            }
            try await eventually("the token service to start", within: .seconds(30)) {
                FileManager.default.fileExists(atPath: directory + "/token-ready")
            }
            let realm = (url: "http://127.0.0.1:\(tokenPort)/token", certificate: directory + "/token-cert.pem")
            try await withUpstream(in: directory + "/registry", tokenRealm: realm) { port in
                try await run([
                    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "bob:hunter2",
                    "oci:\(server.dataDir)/sample:v1", "docker://127.0.0.1:\(port)/tok/hello:v1",
                ])
                let image = "127.0.0.1:\(port)/tok/hello:v1"
                let refused = try await server.skiff(["deploy", "tok", "--image", image])
                #expect(refused.stderr.contains("token service"), "\(refused.stderr)")
                _ = try await server.skiff(
                    ["registries", "login", "127.0.0.1:\(port)", "--username", "bob"], stdin: "hunter2\n")
                let output = try await server.skiffOK(["deploy", "tok", "--image", image, "--port", "8080"])
                #expect(output.contains("ready"))
                let response = try await server.gateway("/", host: "tok.localhost")
                #expect(response.body.contains("Hello from Skiff"))
                _ = try await server.skiffOK(["services", "delete", "tok"])
            }
        }
    }
}
