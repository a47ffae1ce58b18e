import Foundation
import Glibc
import SkiffTestSupport
import Testing

@testable import SkiffRuntime

/// Instance logs stay in bounds: a running instance's log rotates without losing the
/// container's descriptor, and the logs of instances gone long enough are deleted.
@Suite struct InstanceLogsTests {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }
    var logs: InstanceLogs { InstanceLogs(directory: directory) }

    init() throws {
        temporary = try TemporaryDirectory()
    }

    private func write(_ name: String, _ text: String, age: TimeInterval = 0) throws {
        let path = "\(directory)/\(name)"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        if age > 0 {
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: path)
        }
    }

    private func read(_ name: String) -> String? {
        try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
    }

    private func exists(_ name: String) -> Bool { access("\(directory)/\(name)", F_OK) == 0 }

    @Test func aLargeLogOfARunningInstanceRotatesAndItsWriterCarriesOnAtTheStart() throws {
        defer { temporary.remove() }
        try write("old.log.1", "the previous rotation\n")
        // The container's descriptor, opened as the runtime opens it, before the rotation.
        let fd = open(logs.path("web-1"), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        #expect(fd >= 0)
        defer { close(fd) }
        let early = String(repeating: "early line\n", count: 200)
        #expect(Glibc.write(fd, early, early.utf8.count) == early.utf8.count)

        let policy = LogPolicy(maxBytes: 1000, retention: .seconds(3600))
        let report = try logs.maintain(live: ["web-1", "small"], policy: policy)
        #expect(report == LogMaintenance(rotated: ["web-1"], removed: []))
        #expect(read("web-1.log.1") == early)
        #expect(read("web-1.log") == "")

        // Not at the old end with a hole before it: appends land at the start of the emptied file.
        #expect(Glibc.write(fd, "later\n", 6) == 6)
        #expect(read("web-1.log") == "later\n")

        // Under the limit nothing moves, and a second rotation replaces the first.
        #expect(try logs.maintain(live: ["web-1"], policy: policy).rotated.isEmpty)
        let more = String(repeating: "x", count: 1500)
        #expect(Glibc.write(fd, more, more.utf8.count) == more.utf8.count)
        #expect(try logs.maintain(live: ["web-1"], policy: policy).rotated == ["web-1"])
        #expect(read("web-1.log.1") == "later\n" + more)
        #expect(!FileManager.default.fileExists(atPath: logs.rotatedPath("web-1") + ".tmp"))
    }

    @Test func logsOfEndedInstancesGoAfterTheRetentionAndRunningOnesNever() throws {
        defer { temporary.remove() }
        let day: TimeInterval = 24 * 3600
        try write("gone.log", "crashed\n", age: 2 * day)
        try write("gone.log.1", "older\n", age: 3 * day)
        try write("recent.log", "stopped an hour ago\n", age: 3600)
        // Only the rotated file is recent: the instance wrote until lately.
        try write("rotated.log", "", age: 2 * day)
        try write("rotated.log.1", "recent\n", age: 60)
        try write("running.log", "started long ago\n", age: 30 * day)
        try write("crashed-mid-copy.log.1.tmp", "half a copy")
        try write("notes.txt", "not a log", age: 30 * day)

        let report = try logs.maintain(
            live: ["running"], policy: LogPolicy(maxBytes: 1 << 20, retention: .seconds(day)))
        #expect(report == LogMaintenance(rotated: [], removed: ["gone"]))
        #expect(!exists("gone.log") && !exists("gone.log.1"))
        #expect(exists("recent.log") && exists("rotated.log") && exists("rotated.log.1") && exists("running.log"))
        #expect(!exists("crashed-mid-copy.log.1.tmp"))
        #expect(exists("notes.txt"))
    }

    @Test func aMissingDirectoryIsAClearError() {
        defer { temporary.remove() }
        let missing = InstanceLogs(directory: directory + "/nope")
        #expect(throws: RuntimeError.self) { try missing.maintain(live: [], policy: LogPolicy()) }
    }
}
