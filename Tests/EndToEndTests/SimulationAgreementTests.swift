import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import SkiffModel
import SkiffTestSupport
import Testing

/// `skiff simulate` predicts the platform that runs: one step-load trace, replayed against a
/// real server (runc instances, requests sent at the trace's times) and through the
/// simulator with the same settings, gives the same instance counts tick by tick and the
/// same number of instance starts.
@Suite struct SimulationAgreementTests {
    /// After 5 s of nothing (the simulated revision's first instance starts then, the real
    /// one is warm already): one request a second for 8 s, 3 a second for 10 s, 6 a second
    /// for 12 s, then nothing. Each takes 0.5 s. Every step stays within the capacity that
    /// runs already, so no request queues for a start: how many instances queueing adds
    /// depends on how fast instances start on a loaded machine, which one cold-start figure
    /// models only roughly.
    static let trace: [(arrival: Double, duration: Double)] = {
        var requests: [(Double, Double)] = []
        var time = 0.0
        while time < 30 {
            requests.append((5 + time, 0.5))
            time += time < 8 ? 1 : time < 18 ? 1.0 / 3 : 1.0 / 6
        }
        return requests
    }()
    /// What the simulator assumes an instance takes to start: the trace is chosen so the
    /// result barely depends on it.
    static let coldStart = "500ms"

    /// Scaling settings short enough for a test, identical on both sides.
    static let scaling = [
        "--concurrency", "2", "--window", "6s", "--min-instances", "1", "--freeze-after", "0",
    ]

    static func tolerance(_ count: Int) -> Int { max(1, Int((Double(count) * 0.1).rounded(.up))) }

    @Test(.enabled(if: E2E.enabled)) func aStepLoadScalesAsSkiffSimulatePredicts() async throws {
        try await E2E.withServer { server in
            // The app answers /cgi-bin/slow after the request's duration.
            let slow =
                #"mkdir -p /tmp/www/cgi-bin && cp -r /www/. /tmp/www/ && printf '#!/bin/sh\nsleep 0.5\nprintf "Content-Type: text/plain\\r\\n\\r\\nslow\\n"\n' > /tmp/www/cgi-bin/slow && chmod +x /tmp/www/cgi-bin/slow && exec httpd -f -p "$PORT" -h /tmp/www"#
            _ = try await server.skiffOK(
                ["deploy", "step", "--image", "hello:v1", "--command", "/bin/sh", "--args", "-c", "--args", slow]
                    + Self.scaling)
            try await eventually("one instance ready", within: .seconds(60)) {
                try await AutoscalingTests.states(server, "step") == ["ready"]
            }

            // Replay: each request at its time, while the instances are counted every 100 ms.
            // The client opens as many connections as requests are in flight (the shared
            // client's default, 8 per host, would cap the load the server sees).
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(
                idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let port = server.httpPort
            let samples = NIOLockedValueBox<[(time: Double, count: Int)]>([])
            let started = NIOLockedValueBox<Set<String>>([])
            let failed = NIOLockedValueBox(0)
            let origin = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for request in Self.trace {
                    group.addTask {
                        try await Task.sleep(until: origin + .milliseconds(Int(request.arrival * 1000)))
                        var slow = HTTPClientRequest(url: "http://127.0.0.1:\(port)/cgi-bin/slow")
                        slow.headers.replaceOrAdd(name: "Host", value: "step.localhost:\(port)")
                        let response = try? await client.execute(slow, timeout: .seconds(60))
                        _ = try? await response?.body.collect(upTo: 1 << 20)
                        if response?.status != .ok { failed.withLockedValue { $0 += 1 } }
                    }
                }
                group.addTask {
                    while ContinuousClock.now - origin < .seconds(50) {
                        let response = try await server.get("/v1/services/step/instances")
                        let parsed =
                            try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]] ?? []
                        let live = parsed.filter { $0["state"] as? String != "stopping" }
                        let time = (ContinuousClock.now - origin).inSeconds
                        samples.withLockedValue { $0.append((time, live.count)) }
                        started.withLockedValue { $0.formUnion(live.compactMap { $0["id"] as? String }) }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                try await group.waitForAll()
            }
            try await client.shutdown()
            #expect(failed.withLockedValue { $0 } == 0)

            // The same trace through the simulator.
            let csv = server.dataDir + "/trace.csv"
            let lines = Self.trace.map { String(format: "%.4f,%.3f", $0.arrival, $0.duration) }
            try ("timestamp,duration\n" + lines.joined(separator: "\n") + "\n").write(
                toFile: csv, atomically: true, encoding: .utf8)
            // `skiff simulate` runs locally, without a server.
            let simulated = try await ChildProcess.run(
                ServerHarness.binary,
                [
                    "simulate", "--trace", csv, "--cold-start", Self.coldStart,
                    "--every", "2s", "-o", "json",
                ] + Self.scaling)
            #expect(simulated.status == 0, "\(simulated.stderr)")
            let output = simulated.stdout
            let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
            let timeline = try #require(report["timeline"] as? [[String: Any]])
            let predicted: [(time: Double, count: Int)] = timeline.compactMap { row in
                guard let time = row["time"] as? Double, let ready = row["ready"] as? Int,
                    let starting = row["starting"] as? Int
                else { return nil }
                return (time, ready + starting)
            }
            let summary = try #require(report["summary"] as? [String: Any])
            let predictedStarts = try #require(summary["instanceStarts"] as? Int)

            // Per 2 s tick: the server's count is within one of the simulator's (or 10 % of it).
            // The server's ticks are not in phase with the trace's start, and on a loaded
            // machine its requests and decisions run late, so a tick is compared with the
            // simulator's from two ticks before it to one after it.
            let measured = samples.withLockedValue { $0 }
            var mismatches: [String] = []
            for tick in stride(from: 2.0, through: 46.0, by: 2.0) {
                guard let real = measured.min(by: { abs($0.time - tick) < abs($1.time - tick) }) else { continue }
                // The simulator prints a row only when something changed: a tick without one
                // has the count of the row before it.
                let near = [tick - 4, tick - 2, tick, tick + 2].map { time in
                    predicted.last { $0.time <= time + 0.001 }?.count ?? predicted.first?.count ?? 0
                }
                let low = (near.min() ?? 0) - Self.tolerance(near.min() ?? 0)
                let high = (near.max() ?? 0) + Self.tolerance(near.max() ?? 0)
                if !(low...high).contains(real.count) {
                    mismatches.append("t=\(tick)s: server \(real.count), simulate \(near)")
                }
            }
            #expect(mismatches.isEmpty, "instance counts differ: \(mismatches)\nsimulate: \(predicted)")
            let realStarts = started.withLockedValue { $0.count }
            #expect(
                abs(realStarts - predictedStarts) <= Self.tolerance(predictedStarts),
                "instances started: server \(realStarts), simulate \(predictedStarts)")
        }
    }
}
