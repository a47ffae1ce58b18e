import ArgumentParser
import Foundation
import SkiffAutoscaler
import SkiffTestSupport
import Testing

@testable import SkiffCLI

/// `skiff simulate`: the trace CSV, and the command run on a small trace file.
struct SimulateCommandTests {
    static func parse(_ text: String) throws(CLIError) -> [TraceRequest] {
        try TraceCSV.parse(Array(text.utf8), file: "trace.csv")
    }

    @Test func readsRequestsSkippingHeaderCommentsAndBlankLines() throws {
        let requests = try Self.parse(
            """
            timestamp,duration
            # absolute times, out of order
            1700000010.5,250ms

            1700000010,0.1\r
              1700000012.25 , "2s" , extra column
            """)
        #expect(
            requests == [
                TraceRequest(arrival: .zero, duration: .milliseconds(100)),
                TraceRequest(arrival: .milliseconds(500), duration: .milliseconds(250)),
                TraceRequest(arrival: .milliseconds(2250), duration: .seconds(2)),
            ])
    }

    @Test func keepsNanosecondsOfLargeTimestamps() throws {
        let requests = try Self.parse("1700000000.000000001,0.000001\n1700000000.5,1m\n")
        #expect(requests.map(\.arrival) == [.zero, .nanoseconds(499_999_999)])
        #expect(requests.map(\.duration) == [.microseconds(1), .seconds(60)])
    }

    @Test(arguments: [
        ("0,0.1\n1,abc\n", "trace.csv:2: invalid duration \"abc\""),
        ("timestamp,duration\n0,0.1\nsoon,1\n", "trace.csv:3: invalid timestamp \"soon\""),
        ("# comment\n0\n", "trace.csv:2: missing duration"),
        ("0,-1\n", "trace.csv:1: invalid duration \"-1\": must not be negative"),
        ("0,0.1\n1,\n", "trace.csv:2: invalid duration \"\""),
        ("1700000000000,1\n", "trace.csv:1: timestamp 1700000000000 is too large for seconds"),
        ("timestamp,duration\n# nothing else\n", "trace.csv: no requests"),
        ("", "trace.csv: no requests"),
    ])
    func rejectsBadLinesNamingFileAndLine(_ text: String, _ expected: String) {
        #expect {
            try Self.parse(text)
        } throws: { error in
            guard let error = error as? CLIError else { return false }
            return error.code == .invalidInput && error.message.hasPrefix(expected)
        }
    }

    @Test func rowsAreTheFirstTickOfEachInterval() {
        let timeline = stride(from: 2, through: 30, by: 2).map { second in
            SimulationReport.Tick(
                time: .seconds(second), desired: 1, ready: 1, starting: 0, frozen: 0, inFlight: 0, queued: 0,
                stableConcurrency: 0, panicConcurrency: 0, inPanic: false)
        }
        let rows = SimulateCommand.rows(of: timeline, every: .seconds(10))
        #expect(rows.map(\.time) == [.seconds(2), .seconds(10), .seconds(20), .seconds(30)])
    }

    static func command(_ arguments: [String]) throws -> SimulateCommand {
        try #require(try SkiffCommand.parseAsRoot(["simulate"] + arguments) as? SimulateCommand)
    }

    /// Five 1 s requests at once, one at a time: the first waits for the initial instance
    /// (300 ms), the others for it too, then for each other: 0.3, 1.3 … 4.3 s.
    static let trace = "timestamp,duration\n" + String(repeating: "100.0,1s\n", count: 5)

    @Test func printsTheSettingsTheInstancesAndTheSummary() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("trace.csv", Self.trace)
        let text = try Self.command(["--trace", file, "--concurrency", "1", "--max-instances", "1", "--every", "2s"])
            .render()
        #expect(text.hasPrefix("Trace:") && text.contains("trace.csv: 5 requests over 0s"))
        #expect(text.contains("concurrency 1"))
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.contains(["TIME", "DESIRED", "READY", "STARTING", "FROZEN", "IN-FLIGHT", "QUEUED", "PANIC"]))
        // At 2 s: one in flight, three queued; one instance wanted although the load asks for
        // more (panic), because of --max-instances.
        #expect(lines.contains(["0:02", "1", "1", "0", "0", "1", "3", "yes"]))
        #expect(text.contains("5: 5 served, 0 rejected (429), 0 timed out (504)"))
        #expect(text.contains("Cold starts:      1 (requests that waited for an instance to start)"))
        #expect(text.contains("Thawed:           0"))
        #expect(text.contains("p50 2.30s, p90 4.30s, p99 4.30s, max 4.30s"))
    }

    @Test func printsJSONForScripts() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("trace.csv", Self.trace)
        let text = try Self.command(
            [
                "--trace", file, "--concurrency", "1", "--max-instances", "1", "--response-start-timeout", "2s", "-o",
                "json",
            ]
        ).render()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let summary = try #require(json["summary"] as? [String: Any])
        // Waits of 2.3, 3.3 and 4.3 s are over the 2 s timeout.
        #expect(summary["served"] as? Int == 2)
        #expect(summary["timedOut"] as? Int == 3)
        let settings = try #require(json["settings"] as? [String: Any])
        #expect(settings["responseStartTimeout"] as? Double == 2)
        #expect((json["timeline"] as? [Any])?.isEmpty == false)
    }

    @Test(
        arguments: [
            (["--trace", "t.csv", "--every", "0s"], "invalid --every 0s"),
            (["--trace", "t.csv", "--cold-start", "soon"], "invalid duration \"soon\""),
            (["--trace", "t.csv", "--concurrency", "2000"], "invalid concurrency 2000"),
            ([], "--trace"),
        ] as [([String], String)])
    func rejectsInvalidFlags(_ arguments: [String], _ expected: String) throws {
        let text = try #require(ParsingTests.rejection(["simulate"] + arguments), "accepted \(arguments)")
        #expect(text.contains(expected), "\(text)")
    }

    @Test func aMissingTraceFileIsAnIOError() throws {
        #expect {
            try Self.command(["--trace", "/nonexistent/trace.csv"]).render()
        } throws: { error in
            (error as? CLIError)?.code == .io && "\(error)".contains("/nonexistent/trace.csv: no such file")
        }
    }
}
