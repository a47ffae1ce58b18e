import Foundation
import Glibc
import SkiffModel

/// How much instance output the server keeps on disk.
public struct LogPolicy: Sendable, Hashable {
    /// A running instance's log past this size is rotated: `ID.log.1` takes its contents
    /// (replacing the previous one) and `ID.log` starts again empty. About twice this per
    /// instance, then: a log may grow past it until the next check.
    public var maxBytes: Int64
    /// The logs of an instance that no longer runs are deleted once its last line is this old:
    /// long enough to read why it crashed, short enough that scaling up and down every few
    /// minutes does not fill the disk with the logs of instances long gone.
    public var retention: Duration

    public static let defaultMaxBytes: Int64 = 10 << 20
    public static let defaultRetention: Duration = .seconds(24 * 3600)

    public init(maxBytes: Int64 = defaultMaxBytes, retention: Duration = defaultRetention) {
        self.maxBytes = maxBytes
        self.retention = retention
    }
}

/// What one pass over the log directory did.
public struct LogMaintenance: Sendable, Hashable {
    /// Instances whose log was rotated.
    public var rotated: [String] = []
    /// Instances whose logs were deleted.
    public var removed: [String] = []

    public init(rotated: [String] = [], removed: [String] = []) {
        self.rotated = rotated
        self.removed = removed
    }
}

/// The instances' log files, `DIR/ID.log` and the rotated `DIR/ID.log.1`, kept within a
/// ``LogPolicy``.
///
/// The container writes its log through a descriptor opened with `O_APPEND`, which the
/// server cannot swap, so rotation copies and then truncates, as logrotate's `copytruncate`
/// does: the container's next write lands at the start of the emptied file. Lines written
/// between the copy and the truncation (microseconds) are lost; that is the price of not
/// sitting in the path of every byte an instance prints. `skiff logs --follow` notices the
/// file shrank and reads it from its start.
struct InstanceLogs {
    let directory: String

    static let suffix = ".log"
    static let rotatedSuffix = ".log.1"
    static let temporarySuffix = ".tmp"

    func path(_ id: String) -> String { "\(directory)/\(id)\(Self.suffix)" }
    func rotatedPath(_ id: String) -> String { "\(directory)/\(id)\(Self.rotatedSuffix)" }

    /// The instances with a log file, the least recently written first.
    func instances() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let ids = Set(names.filter { $0.hasSuffix(Self.suffix) }.map { String($0.dropLast(Self.suffix.count)) })
        return ids.map { ($0, lastWrite($0) ?? .distantPast) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
    }

    /// Rotates the oversized logs of `live` instances and deletes the logs of every other
    /// instance whose last write is older than the policy's retention.
    func maintain(live: Set<String>, policy: LogPolicy, now: Date = Date()) throws(RuntimeError) -> LogMaintenance {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw RuntimeError(.io, "cannot list \(directory)", cause: error)
        }
        var ids = Set<String>()
        for name in names {
            if name.hasSuffix(Self.rotatedSuffix + Self.temporarySuffix) {
                // A copy a previous pass never finished (the server stopped during it).
                unlink("\(directory)/\(name)")
            } else if name.hasSuffix(Self.suffix) {
                ids.insert(String(name.dropLast(Self.suffix.count)))
            } else if name.hasSuffix(Self.rotatedSuffix) {
                ids.insert(String(name.dropLast(Self.rotatedSuffix.count)))
            }
        }
        let cutoff = now.addingTimeInterval(-policy.retention.inSeconds)
        var report = LogMaintenance()
        for id in ids.sorted() {
            if live.contains(id) {
                if try rotateIfLarger(id, than: policy.maxBytes) { report.rotated.append(id) }
            } else if let written = lastWrite(id), written < cutoff {
                try remove(id)
                report.removed.append(id)
            }
        }
        return report
    }

    /// The newer modification time of the instance's two files; nil when neither exists.
    private func lastWrite(_ id: String) -> Date? {
        [path(id), rotatedPath(id)].compactMap { path -> Date? in
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            return Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
        }.max()
    }

    private func rotateIfLarger(_ id: String, than maxBytes: Int64) throws(RuntimeError) -> Bool {
        let source = path(id)
        let input = open(source, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else {
            if errno == ENOENT { return false }
            throw RuntimeError(.io, "cannot open \(source): \(Errno.text(errno))")
        }
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw RuntimeError(.io, "cannot stat \(source): \(Errno.text(errno))") }
        guard Int64(info.st_size) > maxBytes else { return false }

        // The copy goes to a temporary name first, so a failure leaves the previous
        // rotated file whole, and a reader never sees half a copy.
        let temporary = rotatedPath(id) + Self.temporarySuffix
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard output >= 0 else { throw RuntimeError(.io, "cannot create \(temporary): \(Errno.text(errno))") }
        var copied = true
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                copied = count == 0
                break
            }
            if !buffer.withUnsafeBytes({ Self.writeAll(output, $0.baseAddress!, count) }) {
                copied = false
                break
            }
        }
        close(output)
        guard copied, rename(temporary, rotatedPath(id)) == 0 else {
            let reason = Errno.text(errno)
            unlink(temporary)
            throw RuntimeError(.io, "cannot rotate \(source): \(reason)")
        }
        guard ftruncate(input, 0) == 0 else {
            throw RuntimeError(.io, "cannot truncate \(source): \(Errno.text(errno))")
        }
        return true
    }

    private static func writeAll(_ fd: CInt, _ base: UnsafeRawPointer, _ count: Int) -> Bool {
        var written = 0
        while written < count {
            let result = write(fd, base + written, count - written)
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return false }
            written += result
        }
        return true
    }

    /// Deletes both files of the instance; missing ones are fine.
    private func remove(_ id: String) throws(RuntimeError) {
        for file in [path(id), rotatedPath(id)] where unlink(file) != 0 && errno != ENOENT {
            throw RuntimeError(.io, "cannot remove \(file): \(Errno.text(errno))")
        }
    }
}
