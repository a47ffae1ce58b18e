import ArgumentParser
import Foundation
import SkiffModel
import Testing

@testable import SkiffCLI

/// The scaling flags' help names the defaults a deploy without them gets: the model's.
struct ScalingOptionsTests {
    /// Each flag's help, unwrapped into one line, by flag. A long flag has its help on the
    /// next line.
    static func helpLines() -> [String: String] {
        let text = ScalingOptions.helpMessage(columns: 10_000)
        var lines: [String: String] = [:]
        var flag: String?
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-") || line.first != " " {
                // A flag, `-h, --help` or a section heading: what follows is its own.
                flag = trimmed.hasPrefix("--") ? trimmed.split(separator: " ").first.map(String.init) : nil
                if let flag { lines[flag] = trimmed }
            } else if let flag {
                lines[flag, default: ""] += " " + trimmed
            }
        }
        return lines
    }

    @Test func helpShowsTheModelsDefaults() throws {
        let lines = Self.helpLines()
        func expectLine(_ flag: String, endsWith ending: String) throws {
            let line = try #require(lines[flag], "no help line for \(flag)")
            #expect(line.hasSuffix(ending), "\(flag): \(line)")
        }
        let spec = ScalingSpec()
        let timeouts = RequestTimeouts()
        try expectLine("--concurrency", endsWith: "max \(ScalingSpec.maxConcurrency); default \(spec.concurrency)).")
        try expectLine("--target", endsWith: "else \(spec.effectiveTarget.formatted())).")
        try expectLine("--target-utilization", endsWith: "(default \(spec.targetUtilization.formatted())).")
        try expectLine("--min-instances", endsWith: "(default \(spec.minInstances)).")
        try expectLine("--max-instances", endsWith: "default \(spec.maxInstances)).")
        try expectLine("--initial-instances", endsWith: "(default \(spec.initialInstances)).")
        try expectLine("--window", endsWith: "(default \(spec.window)).")
        try expectLine("--panic-window-percentage", endsWith: "(default \(spec.panicWindowPercentage.formatted())).")
        try expectLine(
            "--panic-threshold-percentage", endsWith: "(default \(spec.panicThresholdPercentage.formatted())).")
        try expectLine("--scale-down-delay", endsWith: "(default \(spec.scaleDownDelay)).")
        try expectLine("--scale-to-zero-grace", endsWith: "(default \(spec.scaleToZeroGrace)).")
        try expectLine("--freeze-after", endsWith: "(default \(spec.freezeAfter)).")
        try expectLine("--frozen-retention", endsWith: "(default \(spec.frozenRetention)).")
        try expectLine("--timeout", endsWith: "(default \(timeouts.request)).")
        try expectLine("--response-start-timeout", endsWith: "(default \(timeouts.responseStart)).")
        try expectLine("--idle-timeout", endsWith: "(default \(timeouts.idle)).")
    }

    /// Knative's defaults as a user reads them; a change here is a change of behaviour.
    @Test func helpReadsAsKnativesDefaults() throws {
        let lines = Self.helpLines()
        let expected = [
            "--concurrency": "(0 = unlimited, max 1000; default 0).",
            "--target": "(default: --concurrency if set, else 100).",
            "--target-utilization": "(default 70).",
            "--min-instances": "(default 0).",
            "--max-instances": "(0 = unlimited; default 0).",
            "--initial-instances": "(default 1).",
            "--window": "6s to 1h (default 1m).",
            "--panic-window-percentage": "(default 10).",
            "--panic-threshold-percentage": "(default 200).",
            "--scale-down-delay": "(default 0s).",
            "--scale-to-zero-grace": "(default 30s).",
            "--freeze-after": "(default 1s).",
            "--frozen-retention": "(default 15m).",
            "--timeout": "(default 5m).",
            "--response-start-timeout": "(default 5m).",
            "--idle-timeout": "0 = none (default 0s).",
        ]
        for (flag, ending) in expected {
            let line = try #require(lines[flag], "no help line for \(flag)")
            #expect(line.hasSuffix(ending), "\(flag): \(line)")
        }
    }

    /// A spec with no scaling fields decodes to the defaults the help names, and encodes them
    /// back under the same keys: moving the defaults changed no JSON.
    @Test func aDefaultSpecEncodesAsBefore() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(ScalingSpec()), as: UTF8.self)
        #expect(
            json
                == #"{"concurrency":0,"freezeAfter":"1s","frozenRetention":"15m","initialInstances":1,"maxInstances":0,"#
                + #""minInstances":0,"panicThresholdPercentage":200,"panicWindowPercentage":10,"scaleDownDelay":"0s","#
                + #""scaleToZeroGrace":"30s","targetUtilization":70,"window":"1m"}"#)
        #expect(try JSONDecoder().decode(ScalingSpec.self, from: Data("{}".utf8)) == ScalingSpec())
    }
}
