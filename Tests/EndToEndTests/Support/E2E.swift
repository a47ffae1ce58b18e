import Foundation
import SkiffTestSupport
import Testing

/// End-to-end tests need root, runc and the CNI plugins. Where they are missing the tests
/// skip, unless `SKIFF_E2E=required` (as `make test` sets), where a skip would hide a failure.
enum E2E {
    static var missing: String? {
        if getuid() != 0 { return "not root" }
        for tool in ["/usr/sbin/runc", "/usr/lib/cni/bridge", "/usr/bin/umoci"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing"
        }
        if !FileManager.default.isExecutableFile(atPath: ServerHarness.binary) {
            return "\(ServerHarness.binary) is not built"
        }
        return nil
    }

    static var enabled: Bool {
        if let missing {
            if ProcessInfo.processInfo.environment["SKIFF_E2E"] == "required" {
                // Fail loudly instead of skipping.
                Issue.record("end-to-end tests are required but cannot run: \(missing)")
            }
            return false
        }
        return true
    }

    /// Builds the sample image into `directory` with the script users run.
    static func buildSampleImage(into directory: String, tag: String = "v1") async throws {
        let result = try await ChildProcess.run(ServerHarness.packageRoot + "/images/hello/build.sh", [directory, tag])
        guard result.status == 0 else { throw HarnessError("images/hello/build.sh failed: \(result.stderr)") }
    }

    /// A started server (`skiff server` with `arguments` added) with the sample image loaded
    /// as `hello:v1` unless `loadingSample` is false; torn down by `body`'s end, failing the
    /// test if anything leaked.
    static func withServer(
        arguments: [String] = [], loadingSample: Bool = true, _ body: (ServerHarness) async throws -> Void
    ) async throws {
        let server = try ServerHarness(arguments: arguments)
        do {
            try await server.start()
            if loadingSample {
                try await buildSampleImage(into: server.dataDir + "/sample")
                _ = try await server.skiffOK(["images", "load", server.dataDir + "/sample:v1", "--tag", "hello:v1"])
            }
            try await body(server)
        } catch {
            let log = server.serverLog()
            let leaks = await server.tearDown()
            Issue.record("server log tail:\n\(log)")
            if !leaks.isEmpty { Issue.record("leaked after failure: \(leaks)") }
            throw error
        }
        let leaks = await server.tearDown()
        #expect(leaks.isEmpty, "the server left behind: \(leaks)")
    }
}
