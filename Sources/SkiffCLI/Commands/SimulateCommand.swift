import ArgumentParser
import Foundation
import SkiffAutoscaler
import SkiffModel

/// `skiff simulate`: replays a request trace through the server's autoscaler on a simulated
/// clock, locally, to choose scaling settings before traffic pays for them.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a request trace through the autoscaler to choose scaling settings.",
        discussion: """
            Runs locally, without a server: the trace's requests go through the same \
            autoscaler, queue and instance rules the server uses, on a simulated clock. The \
            output shows the instances over time, then the cold starts, the time requests \
            waited for an instance (queueing delay), the requests refused (429: queue full) or \
            timed out (504: queued longer than --response-start-timeout), and the \
            instance-seconds, running and frozen, that the settings cost. Try other scaling \
            flags on the same trace and compare.

            The trace is CSV, one request per line: timestamp,duration. The timestamp is in \
            seconds, from the trace's start (0, 0.25, 12.5) or absolute (Unix time such as \
            1700000000.25); the earliest becomes 0 and the lines may come in any order. The \
            duration is the time the app takes to answer, in seconds (0.1) or with a unit \
            (100ms, 2s). A first line that does not start with a number (a header) is skipped, \
            and so are blank lines and lines starting with #; further columns are ignored.

              # trace.csv
              timestamp,duration
              0.000,0.120
              0.250,80ms
              1.500,1.2

              skiff simulate --trace trace.csv
              skiff simulate --trace trace.csv --concurrency 10 --min-instances 1
              skiff simulate --trace trace.csv --cold-start 2s --every 1m -o json

            The revision is created when the trace starts: its --initial-instances start then, \
            and the first requests may wait for them. READY counts frozen instances too; FROZEN \
            says how many of them are; rows equal to the one above are left out. Of the \
            timeouts only --response-start-timeout is simulated: the trace already says how \
            long each request takes.
            """
    )

    @Option(help: ArgumentHelp("The request trace: CSV of timestamp,duration (see above).", valueName: "file"))
    var trace: String

    @Option(
        help: ArgumentHelp(
            "From starting an instance to its first request: runtime and app startup.", valueName: "duration"))
    var coldStart = "300ms"

    @Option(help: ArgumentHelp("Extra wait of a request sent to a frozen instance.", valueName: "duration"))
    var thaw = "1ms"

    @Option(help: ArgumentHelp("Interval between the rows of the instances table.", valueName: "duration"))
    var every = "10s"

    @OptionGroup(title: "Scaling and timeouts")
    var scaling: ScalingOptions

    @Option(name: [.short, .long], help: "Output format: table, json or yaml.")
    var output: OutputFormat = .table

    func validate() throws {
        do throws(ModelError) {
            _ = try DurationText.parse(coldStart, field: "cold-start")
            _ = try DurationText.parse(thaw, field: "thaw")
            guard try DurationText.parse(every, field: "every") > .zero else {
                throw ModelError(.invalidDuration, field: "every", "invalid --every \(every): must be more than 0")
            }
            try scaling.validateAlone()
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        Console.out(try render())
    }

    /// Reads the trace, simulates it and returns what `run` prints.
    func render() throws(CLIError) -> String {
        var spec = ServiceSpec(image: "simulated")
        let configuration: Simulation.Configuration
        let interval: Duration
        do throws(ModelError) {
            try scaling.apply(to: &spec)
            configuration = Simulation.Configuration(
                scaling: spec.scaling, responseStartTimeout: spec.timeouts.responseStart.duration,
                coldStart: try DurationText.parse(coldStart, field: "cold-start"),
                thaw: try DurationText.parse(thaw, field: "thaw"))
            interval = try DurationText.parse(every, field: "every")
        } catch {
            throw CLIError(.invalidInput, error.message)
        }
        let requests = try TraceCSV.read(trace)
        let report = Simulation(configuration: configuration).run(requests)
        let rows = Self.rows(of: report.timeline, every: interval)
        let span = requests.map(\.arrival).max() ?? .zero
        if let text = try output.encode(SimulationOutput(configuration, report: report, rows: rows)) {
            return text
        }
        return Self.text(trace: trace, span: span, configuration: configuration, report: report, rows: rows)
    }

    /// The first tick at or after each multiple of `every`.
    static func rows(of timeline: [SimulationReport.Tick], every: Duration) -> [SimulationReport.Tick] {
        var rows: [SimulationReport.Tick] = []
        var next = Duration.zero
        for tick in timeline where tick.time >= next {
            rows.append(tick)
            while next <= tick.time { next += every }
        }
        return rows
    }

    static func text(
        trace: String, span: Duration, configuration: Simulation.Configuration, report: SimulationReport,
        rows: [SimulationReport.Tick]
    ) -> String {
        let scaling = configuration.scaling
        let timeout = configuration.responseStartTimeout
        let panic =
            "panic window \(scaling.panicWindowPercentage.formatted()) % at \(scaling.panicThresholdPercentage.formatted()) %"
        let (coldStart, thaw) = (DurationText.format(configuration.coldStart), DurationText.format(configuration.thaw))
        var out = labelled([
            ("Trace", "\(trace): \(report.requests) requests over \(DurationText.format(span))"),
            ("Scaling", Tables.scalingSummary(scaling)),
            ("", "\(panic), scale-down delay \(scaling.scaleDownDelay), queue \(scaling.queueDepth)"),
            ("Timeout", timeout > .zero ? "response start \(DurationText.format(timeout)), queueing included" : "none"),
            ("Assumed", "cold start \(coldStart), thaw \(thaw)"),
        ])

        var table = TableRenderer(["TIME", "DESIRED", "READY", "STARTING", "FROZEN", "IN-FLIGHT", "QUEUED", "PANIC"])
        var previous: [String]?
        for (index, row) in rows.enumerated() {
            let cells = [
                String(row.desired), String(row.ready), String(row.starting), String(row.frozen), String(row.inFlight),
                String(row.queued), row.inPanic ? "yes" : "no",
            ]
            guard cells != previous || index == rows.count - 1 else { continue }
            previous = cells
            table.append([clock(row.time)] + cells)
        }
        out += "\n" + table.render() + "\n"

        let delay = report.queueDelay
        let refused = "\(report.rejected) rejected (429), \(report.timedOut) timed out (504)"
        out += labelled([
            ("Requests", "\(report.requests): \(report.served) served, \(refused)"),
            ("Cold starts", "\(report.coldStarts) (requests that waited for an instance to start)"),
            ("Thawed", "\(report.thawStarts) (requests that woke a frozen instance)"),
            ("Instances", "\(report.instanceStarts) started, at most \(report.peakInstances) at once"),
            (
                "Queueing delay",
                "p50 \(short(delay.p50)), p90 \(short(delay.p90)), p99 \(short(delay.p99)), max \(short(delay.max))"
            ),
            ("Instance-seconds", "\(seconds(report.runningTime)) running, \(seconds(report.frozenTime)) frozen"),
            ("Simulated", "until \(clock(report.end)), when the instances had settled"),
        ])
        return out
    }

    /// `Label:  value` lines, values aligned.
    static func labelled(_ lines: [(String, String)]) -> String {
        let width = (lines.map(\.0.count).max() ?? 0) + 2
        return lines.map { label, value in
            let head = label.isEmpty ? "" : label + ":"
            return head + String(repeating: " ", count: width - head.count) + value + "\n"
        }.joined()
    }

    /// `0:10`, `12:04`, `1:02:03`.
    static func clock(_ time: Duration) -> String {
        let total = time.components.seconds
        let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(seconds))" : "\(minutes):\(two(seconds))"
    }

    /// `0`, `0.3ms`, `27.5ms`, `301ms`, `1.29s`, then `DurationText`'s `2m5s`.
    static func short(_ duration: Duration) -> String {
        let value = duration.inSeconds
        switch value {
        case 0: return "0"
        case ..<0.01: return String(format: "%.1fms", value * 1000).replacingOccurrences(of: ".0ms", with: "ms")
        case ..<1: return String(format: "%.0fms", value * 1000)
        case ..<60: return String(format: "%.2fs", value)
        default: return DurationText.format(duration)
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f", duration.inSeconds)
    }
}

/// A request trace in CSV: `timestamp,duration` per line, as `skiff simulate --help` describes.
enum TraceCSV {
    /// Reads and parses the file at `path`.
    static func read(_ path: String) throws(CLIError) -> [TraceRequest] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError(.io, "cannot read trace \(path): no such file or directory")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CLIError(.io, "cannot read trace \(path): \(error.localizedDescription)", cause: error)
        }
        return try parse(Array(data), file: path)
    }

    /// The requests of `bytes` in arrival order, relative to the earliest; errors name `file`
    /// and the line.
    static func parse(_ bytes: [UInt8], file: String) throws(CLIError) -> [TraceRequest] {
        var timestamps: [Int64] = []
        var durations: [Duration] = []
        var lineNumber = 0
        var start = 0
        var seenData = false
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            let line = trimmed(bytes[start..<end])
            start = end + 1
            guard let first = line.first, first != UInt8(ascii: "#") else { continue }
            func fail(_ message: String) -> CLIError {
                CLIError(.invalidInput, "\(file):\(lineNumber): \(message)")
            }
            let comma = line.firstIndex(of: UInt8(ascii: ",")) ?? line.endIndex
            let timeField = unquoted(line[line.startIndex..<comma])
            guard let timestamp = try nanoseconds(timeField, fail: fail) else {
                // A first line that is not a request is the header.
                if !seenData {
                    seenData = true
                    continue
                }
                throw fail("invalid timestamp \"\(text(timeField))\": expected seconds, e.g. 12.5 or 1700000000.25")
            }
            seenData = true
            guard comma < line.endIndex else { throw fail("missing duration: expected timestamp,duration") }
            let rest = line[(comma + 1)...]
            let durationField = unquoted(
                rest[rest.startIndex..<(rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex)])
            timestamps.append(timestamp)
            durations.append(try duration(durationField, fail: fail))
        }
        guard let origin = timestamps.min() else {
            throw CLIError(.invalidInput, "\(file): no requests: expected lines of timestamp,duration")
        }
        var order = Array(timestamps.indices)
        if zip(timestamps, timestamps.dropFirst()).contains(where: { $0 > $1 }) {
            order.sort { timestamps[$0] != timestamps[$1] ? timestamps[$0] < timestamps[$1] : $0 < $1 }
        }
        return order.map { TraceRequest(arrival: .nanoseconds(timestamps[$0] - origin), duration: durations[$0]) }
    }

    /// A number of seconds as nanoseconds: exact for decimals (`12`, `0.25`, `-3.5`,
    /// `1700000000.123456789`), else anything `Double` reads; nil if it is not a number.
    static func nanoseconds(_ field: ArraySlice<UInt8>, fail: (String) -> CLIError) throws(CLIError) -> Int64? {
        if let exact = decimalNanoseconds(field) { return exact }
        guard let value = Double(text(field)), value.isFinite else { return nil }
        let nanoseconds = (value * 1e9).rounded()
        guard abs(nanoseconds) < 9.2e18 else {
            throw fail("timestamp \(text(field)) is too large for seconds (milliseconds? divide by 1000)")
        }
        return Int64(nanoseconds)
    }

    /// `0.25` or `250ms`; never negative.
    static func duration(_ field: ArraySlice<UInt8>, fail: (String) -> CLIError) throws(CLIError) -> Duration {
        let text = text(field)
        func invalid() -> CLIError {
            fail("invalid duration \"\(text)\": expected seconds (0.25) or a duration with a unit (250ms)")
        }
        if let value = try? nanoseconds(field, fail: fail) {
            guard value >= 0 else { throw fail("invalid duration \"\(text)\": must not be negative") }
            return .nanoseconds(value)
        }
        guard !text.isEmpty, let duration = try? DurationText.parse(text) else { throw invalid() }
        return duration
    }

    /// Digits, an optional sign and fraction; nil for anything else or when out of range.
    private static func decimalNanoseconds(_ field: ArraySlice<UInt8>) -> Int64? {
        var index = field.startIndex
        var negative = false
        if index < field.endIndex, field[index] == UInt8(ascii: "-") || field[index] == UInt8(ascii: "+") {
            negative = field[index] == UInt8(ascii: "-")
            index += 1
        }
        var whole: Int64 = 0
        var digits = 0
        while index < field.endIndex, let digit = digit(field[index]) {
            let (times, overflow) = whole.multipliedReportingOverflow(by: 10)
            guard !overflow, times <= 9_000_000_000 else { return nil }
            whole = times + digit
            digits += 1
            index += 1
        }
        var fraction: Int64 = 0
        if index < field.endIndex, field[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 1_000_000_000
            while index < field.endIndex, let digit = digit(field[index]) {
                scale /= 10
                fraction += digit * scale
                digits += 1
                index += 1
            }
        }
        guard index == field.endIndex, digits > 0 else { return nil }
        let total = whole * 1_000_000_000 + fraction
        return negative ? -total : total
    }

    private static func digit(_ byte: UInt8) -> Int64? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int64(byte - UInt8(ascii: "0")) : nil
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func isBlank(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
        }
        var (start, end) = (bytes.startIndex, bytes.endIndex)
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// Without surrounding blanks and double quotes.
    private static func unquoted(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = trimmed(bytes)
        if slice.count >= 2, slice.first == UInt8(ascii: "\""), slice.last == UInt8(ascii: "\"") {
            slice = trimmed(slice.dropFirst().dropLast())
        }
        return slice
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

/// `skiff simulate -o json`: the settings, the totals and the sampled timeline; times and
/// durations in seconds.
struct SimulationOutput: Encodable {
    struct Settings: Encodable {
        var scaling: ScalingSpec
        var responseStartTimeout: Double
        var coldStart: Double
        var thaw: Double
    }

    struct Delays: Encodable {
        var p50: Double
        var p90: Double
        var p99: Double
        var max: Double
    }

    struct Summary: Encodable {
        var requests: Int
        var served: Int
        var rejected: Int
        var timedOut: Int
        var coldStarts: Int
        var thawStarts: Int
        var instanceStarts: Int
        var peakInstances: Int
        var queueDelay: Delays
        var runningInstanceSeconds: Double
        var frozenInstanceSeconds: Double
        var end: Double
    }

    struct Row: Encodable {
        var time: Double
        var desired: Int
        var ready: Int
        var starting: Int
        var frozen: Int
        var inFlight: Int
        var queued: Int
        var stableConcurrency: Double
        var panicConcurrency: Double
        var inPanic: Bool
    }

    var settings: Settings
    var summary: Summary
    var timeline: [Row]

    init(_ configuration: Simulation.Configuration, report: SimulationReport, rows: [SimulationReport.Tick]) {
        func seconds(_ duration: Duration) -> Double { duration.inSeconds }
        settings = Settings(
            scaling: configuration.scaling, responseStartTimeout: seconds(configuration.responseStartTimeout),
            coldStart: seconds(configuration.coldStart), thaw: seconds(configuration.thaw))
        let delay = report.queueDelay
        summary = Summary(
            requests: report.requests, served: report.served, rejected: report.rejected, timedOut: report.timedOut,
            coldStarts: report.coldStarts, thawStarts: report.thawStarts, instanceStarts: report.instanceStarts,
            peakInstances: report.peakInstances,
            queueDelay: Delays(
                p50: seconds(delay.p50), p90: seconds(delay.p90), p99: seconds(delay.p99), max: seconds(delay.max)),
            runningInstanceSeconds: seconds(report.runningTime), frozenInstanceSeconds: seconds(report.frozenTime),
            end: seconds(report.end))
        timeline = rows.map { row in
            Row(
                time: seconds(row.time), desired: row.desired, ready: row.ready, starting: row.starting,
                frozen: row.frozen,
                inFlight: row.inFlight, queued: row.queued, stableConcurrency: row.stableConcurrency,
                panicConcurrency: row.panicConcurrency, inPanic: row.inPanic)
        }
    }
}
