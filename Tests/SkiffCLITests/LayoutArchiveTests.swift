import Foundation
import NIOCore
import SkiffTestSupport
import Testing

@testable import SkiffCLI

/// `skiff images load` streams an OCI layout directory as a tar that the system's GNU tar reads.
struct LayoutArchiveTests {
    @Test func layoutArchiveStreamsADirectoryThatTarReads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let layout = directory.path + "/layout"
        try FileManager.default.createDirectory(atPath: layout, withIntermediateDirectories: true)
        let layoutDirectory = TemporaryDirectory(existing: layout)
        try layoutDirectory.write(
            "blobs/sha256/" + String(repeating: "1", count: 64), Data(repeating: 9, count: 600_000))
        try layoutDirectory.write("index.json", #"{"schemaVersion":2,"manifests":[]}"#)
        try layoutDirectory.write("oci-layout", #"{"imageLayoutVersion":"1.0.0"}"#)

        let archive = try await LayoutArchive.plan(directory: layout)
        var bytes: [UInt8] = []
        var chunks = 0
        for try await chunk in archive {
            bytes += Array(buffer: chunk)
            chunks += 1
        }
        #expect(Int64(bytes.count) == archive.size)
        #expect(chunks > 3, "the blob arrives in several chunks, not as one buffer")
        let file = try directory.write("layout.tar", Data(bytes))
        let names = try await ChildProcess.run("/bin/tar", ["-tf", file]).stdout.split(separator: "\n").map(String.init)
        #expect(
            names == [
                "oci-layout", "index.json", "blobs/", "blobs/sha256/",
                "blobs/sha256/" + String(repeating: "1", count: 64),
            ])
    }

    @Test func layoutArchiveRejectsADirectoryWithoutIndex() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("oci-layout", "{}")
        await #expect(throws: CLIError.self) { try await LayoutArchive.plan(directory: directory.path) }
        let error = await #expect(throws: CLIError.self) {
            try await LayoutArchive.plan(directory: directory.path + "/nope")
        }
        #expect(error?.message.contains("nope") == true)
    }
}
