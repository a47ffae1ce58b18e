public import AsyncHTTPClient
public import Foundation
import NIOCore
public import NIOHTTP1
import Synchronization
import Testing

/// A real `skiff server` process on free loopback ports, with its own temporary data dir,
/// bridge and subnet, so tests can run side by side and clean up after themselves.
public final class ServerHarness: @unchecked Sendable {
    public let dataDir: String
    public let apiPort: Int
    public let httpPort: Int
    public let bridge: String
    public let subnet: String
    public private(set) var process: Process?
    private let logPath: String

    /// The checkout this file is in (found from its path at build time).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The `skiff` executable the tests run: `SKIFF_BINARY`, else the debug build.
    public static var binary: String {
        ProcessInfo.processInfo.environment["SKIFF_BINARY"] ?? packageRoot + "/.build/debug/skiff"
    }

    /// Options added to every `skiff server` this harness starts.
    public let extraArguments: [String]

    public init(arguments: [String] = []) throws {
        extraArguments = arguments
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        dataDir = NSTemporaryDirectory() + "skiff-e2e-\(id)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        apiPort = try Self.freePort()
        httpPort = try Self.freePort()
        bridge = "skt\(id.prefix(8))"
        subnet = Self.nextSubnet()
        logPath = dataDir + ".log"
    }

    /// Servers of one test run get distinct subnets: two bridges with the same /24 would
    /// fight over its route, and one server's instances would become unreachable.
    private static let subnets = Atomic<Int>(Int.random(in: 0..<256))
    public static func nextSubnet() -> String {
        let index = subnets.wrappingAdd(1, ordering: .relaxed).newValue
        return "10.\(200 + (Int(getpid()) % 51)).\(index % 256).0/24"
    }

    public var apiURL: String { "http://127.0.0.1:\(apiPort)" }

    /// The admin token the server wrote at its first start; empty before.
    public var token: String {
        (try? String(contentsOfFile: dataDir + "/admin.token", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Starts the server and waits until its API answers.
    public func start() async throws {
        let process = try launch()
        try await waitUntilAnswering(process)
    }

    /// Starts a second server on this data directory while the first runs, as an upgrade
    /// does: the new one takes the gateway's listening socket over and the old one leaves.
    /// Returns once the old one has exited and the new one's API answers.
    public func replace() async throws {
        guard let old = process, old.isRunning else { throw HarnessError("no running server to replace") }
        let new = try launch()
        await waitForExit(old)
        guard !old.isRunning else { throw HarnessError("the old server did not leave:\n\(serverLog())") }
        try await waitUntilAnswering(new)
    }

    private func launch() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments =
            [
                "server", "--data-dir", dataDir, "--http", "127.0.0.1:\(httpPort)", "--api", "127.0.0.1:\(apiPort)",
                "--bridge", bridge, "--subnet", subnet, "--log-level", "debug",
            ] + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = dataDir + "/client-config"
        process.environment = environment
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        return process
    }

    private func waitUntilAnswering(_ process: Process) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            // Another test's server may hold the port (a bind failure ends ours): only an
            // answer to this server's own token counts.
            if let response = try? await get("/v1/services"), response.status == .ok, process.isRunning { return }
            guard process.isRunning else { throw HarnessError("server exited at start:\n\(serverLog())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("server did not answer within 30s:\n\(serverLog())")
    }

    /// The last 6000 characters the server printed.
    public func serverLog() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)).map { String($0.suffix(6000)) } ?? ""
    }

    /// SIGINT and wait: the platform stops for good, every instance with it.
    public func stop() async {
        await signalAndWait(SIGINT)
    }

    /// SIGTERM and wait: a graceful shutdown that leaves ready instances running for the
    /// next start to adopt.
    public func terminate() async {
        await signalAndWait(SIGTERM)
    }

    private func signalAndWait(_ signal: Int32) async {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        await waitForExit(process)
        if process.isRunning {
            // A server that does not stop is a failure the leak check reports; it must not
            // outlive the test run.
            Issue.record("server did not stop within 60s of signal \(signal):\n\(serverLog())")
            Foundation.kill(process.processIdentifier, SIGKILL)
            await waitForExit(process)
        }
        self.process = nil
    }

    /// SIGKILL: what a crash looks like to the next start.
    public func kill() async {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        await waitForExit(process)
        self.process = nil
    }

    private func waitForExit(_ process: Process) async {
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops the server and removes everything; reports what it had to clean up by force.
    public func tearDown() async -> [String] {
        await stop()
        let leaks = await Leaks.find(bridge: bridge, dataDir: dataDir)
        await Leaks.forceClean(bridge: bridge, dataDir: dataDir)
        try? FileManager.default.removeItem(atPath: dataDir)
        try? FileManager.default.removeItem(atPath: logPath)
        return leaks
    }

    // MARK: Clients

    /// How a `skiff` command ended and what it printed.
    public struct CommandResult: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs the `skiff` CLI against this server, as a user would.
    public func skiff(_ arguments: [String], stdin: String? = nil) async throws -> CommandResult {
        let token = self.token
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = dataDir + "/client-config"
        environment["HOME"] = dataDir
        let result = try await ChildProcess.run(
            Self.binary, arguments + ["--server", apiURL] + (token.isEmpty ? [] : ["--token", token]),
            environment: environment, input: stdin)
        return CommandResult(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// Runs the `skiff` CLI and returns its stdout; a non-zero exit throws, with the server log.
    public func skiffOK(_ arguments: [String]) async throws -> String {
        let result = try await skiff(arguments)
        guard result.status == 0 else {
            throw HarnessError(
                "skiff \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)\nserver log:\n\(serverLog())"
            )
        }
        return result.stdout
    }

    /// A response, its body read whole.
    public struct HTTPResult: Sendable {
        public var status: HTTPResponseStatus
        public var headers: HTTPHeaders
        public var body: String
    }

    /// A request to the API with the admin token.
    public func get(_ path: String, token: String? = nil) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: apiURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? self.token)")
        return try await Self.send(request)
    }

    /// A request through the gateway, as a browser at `http://HOST:PORT/` would send it.
    public func gateway(
        _ path: String, host: String, query: String? = nil, method: HTTPMethod = .GET, body: String? = nil
    ) async throws -> HTTPResult {
        let url = "http://127.0.0.1:\(httpPort)\(path)" + (query.map { "?" + $0 } ?? "")
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.replaceOrAdd(name: "Host", value: "\(host):\(httpPort)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        return try await Self.send(request)
    }

    /// Sends `request` with the shared client and reads the whole body (up to 64 MiB).
    public static func send(_ request: HTTPClientRequest) async throws -> HTTPResult {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        return HTTPResult(status: response.status, headers: response.headers, body: String(buffer: body))
    }

    /// Ports handed to a server of this test run: the kernel may offer a port again once
    /// the probe socket closed, and two servers started side by side must not share one.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A TCP port on 127.0.0.1 that nothing listens on now and no other harness of this run got.
    public static func freePort() throws -> Int {
        for _ in 0..<100 {
            let port = try unusedPort()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw HarnessError("cannot find a free port not handed out already")
    }

    private static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
