import Foundation
import SkiffArchive
import SkiffOCI
import SystemPackage
import Testing

/// What bench/unpack/run.sh passes in the environment.
enum BenchmarkInput {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var layers: [(name: String, path: String)]? {
        guard let text = environment["SKIFF_BENCH_UNPACK"], !text.isEmpty else { return nil }
        return text.split(separator: ",").map { item in
            let parts = item.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), String(parts.count > 1 ? parts[1] : parts[0]))
        }
    }
}

/// Unpack throughput, for bench/unpack/run.sh: off unless `SKIFF_BENCH_UNPACK` names the
/// layers to unpack (`name=path.tar.gz,…`). Each try unpacks every layer three ways, in turn:
/// Skiff without hashing (as before diff_ids were checked), Skiff hashing the stream for the
/// diff_id (as the snapshot store does), and `tar -xzf`. It prints medians; it asserts nothing
/// about time.
@Suite("Unpack throughput (bench/unpack)", .enabled(if: BenchmarkInput.layers != nil), .serialized)
struct UnpackBenchmark {
    static var environment: [String: String] { BenchmarkInput.environment }
    static var layers: [(name: String, path: String)]? { BenchmarkInput.layers }
    enum Way: String, CaseIterable {
        case skiffNoHash = "skiff (no diff_id hash)"
        case skiffHash = "skiff (diff_id hash)"
        case tar = "tar -xzf"
    }

    @Test func unpackThroughput() throws {
        let tries = Int(Self.environment["TRIES"] ?? "") ?? 5
        let scratch = Self.environment["SKIFF_BENCH_DIR"] ?? NSTemporaryDirectory()
        for (name, path) in Self.layers ?? [] {
            var seconds: [Way: [Double]] = [:]
            var uncompressed: Int64 = 0
            for attempt in 0..<tries {
                for way in Way.allCases {
                    let target = scratch + "/unpack-\(attempt)-\(way)".replacingOccurrences(of: " ", with: "_")
                    Self.sync()
                    let start = ContinuousClock.now
                    switch way {
                    case .skiffNoHash, .skiffHash:
                        let hasher = way == .skiffHash ? SHA256LayerHasher() : nil
                        let stats = try LayerUnpacker().unpack(
                            layerAt: FilePath(path), compression: .gzip, into: FilePath(target), hasher: hasher)
                        uncompressed = stats.uncompressedBytes
                    case .tar:
                        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
                        try Self.run("/usr/bin/tar", ["-xzf", path, "-C", target, "--same-owner", "-p"])
                    }
                    let elapsed = ContinuousClock.now - start
                    seconds[way, default: []].append(
                        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                    try Self.run("/bin/rm", ["-rf", target])
                }
            }
            let mib = Double(uncompressed) / Double(1 << 20)
            print("layer \(name): \(String(format: "%.1f", mib)) MiB uncompressed, \(tries) tries")
            var medians: [Way: Double] = [:]
            for way in Way.allCases {
                let median = Self.median(seconds[way] ?? [])
                medians[way] = median
                let label = way.rawValue.padding(toLength: 26, withPad: " ", startingAt: 0)
                print("  " + label + String(format: " median %8.1f ms  %8.1f MiB/s", median * 1000, mib / median))
            }
            if let hash = medians[.skiffHash], let noHash = medians[.skiffNoHash], let tar = medians[.tar] {
                print(
                    String(
                        format: "  diff_id hashing costs %+.1f %% (hash / no hash = %.3f)", (hash / noHash - 1) * 100,
                        hash / noHash))
                print(String(format: "  skiff (hash) / tar -xzf time ratio = %.3f", hash / tar))
            }
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Flushes dirty pages so one way's writeback is not billed to the next.
    static func sync() {
        _ = try? run("/bin/sync", [])
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(executable) failed"])
        }
    }
}
