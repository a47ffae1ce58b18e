import Foundation
import NIOCore
import SkiffTestSupport
import Testing

@testable import SkiffArchive

/// TarWriter's output read back by the system's GNU tar.
struct TarWriterTests {
    /// Writes an archive with `entries`, each regular file's content given by `content`.
    static func archive(_ entries: [(TarWriter.Entry, [UInt8])]) throws -> [UInt8] {
        var writer = TarWriter()
        var out: [UInt8] = []
        for (entry, content) in entries {
            out += Array(buffer: try writer.header(for: entry))
            // Content in uneven chunks, as a file reader would deliver it.
            var rest = content[...]
            while !rest.isEmpty {
                let chunk = rest.prefix(700)
                rest = rest.dropFirst(chunk.count)
                out += Array(buffer: try writer.content(ByteBuffer(bytes: chunk)))
            }
        }
        out += Array(buffer: try writer.finish())
        #expect(Int64(out.count) == writer.bytesWritten)
        #expect(Int64(out.count) == (try TarWriter.archiveSize(of: entries.map(\.0))))
        #expect(out.count % 512 == 0)
        return out
    }

    static let longDirectory = (1...6).map { "directory-number-\($0)-with-a-long-name" }.joined(separator: "/")

    static let cases: [(TarWriter.Entry, [UInt8])] = [
        (.init(path: "oci-layout", kind: .regular(size: 30)), Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)),
        (.init(path: "blobs", kind: .directory), []),
        (.init(path: "blobs/sha256", kind: .directory, mode: 0o700), []),
        (
            .init(path: "blobs/sha256/" + String(repeating: "ab", count: 32), kind: .regular(size: 1500)),
            Array(repeating: 7, count: 1500)
        ),
        (.init(path: "empty", kind: .regular(size: 0)), []),
        // 115 bytes: fits ustar's prefix + name split.
        (
            .init(
                path: "split/" + String(repeating: "n", count: 90) + "/" + String(repeating: "f", count: 18),
                kind: .regular(size: 3)), Array("abc".utf8)
        ),
        // No split possible: a 150-byte final component needs a pax path record.
        (
            .init(path: "pax/" + String(repeating: "p", count: 150), kind: .regular(size: 512)),
            Array(repeating: 1, count: 512)
        ),
        // Over 255 bytes in total.
        (.init(path: longDirectory + "/file.txt", kind: .regular(size: 5)), Array("hello".utf8)),
        (.init(path: "ünïcode-ñame", kind: .regular(size: 1)), [65]),
        (.init(path: "link", kind: .symlink(target: "oci-layout")), []),
        (.init(path: "longlink", kind: .symlink(target: "../" + String(repeating: "t", count: 120))), []),
    ]

    @Test func gnuTarListsEveryEntryWithItsFullName() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("out.tar", Data(try Self.archive(Self.cases)))
        let listing = try await ChildProcess.run("/bin/tar", ["-tvf", file])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stderr.isEmpty, "\(listing.stderr)")
        let names = try await ChildProcess.run("/bin/tar", ["-tf", file]).stdout.split(separator: "\n").map(String.init)
        let expected = Self.cases.map { entry, _ in
            if case .directory = entry.kind { return entry.path + "/" }
            return entry.path
        }
        #expect(names == expected)
        #expect(listing.stdout.contains("link -> oci-layout"))
        #expect(listing.stdout.contains("longlink -> ../" + String(repeating: "t", count: 120)))
        #expect(listing.stdout.contains("drwx------"))
    }

    @Test func gnuTarExtractsTheSameContent() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("out.tar", Data(try Self.archive(Self.cases)))
        let extract = directory.path + "/x"
        try FileManager.default.createDirectory(atPath: extract, withIntermediateDirectories: true)
        let result = try await ChildProcess.run("/bin/tar", ["-xf", file, "-C", extract])
        #expect(result.status == 0, "\(result.stderr)")
        for (entry, content) in Self.cases {
            guard case .regular = entry.kind else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: extract + "/" + entry.path))
            #expect(Array(data) == content, "\(entry.path)")
        }
    }

    @Test func paxRecordLengthCountsItsOwnDigits() {
        // "9 a=bcde\n" is 9 bytes; one more byte makes the length two digits.
        #expect(TarWriter.paxRecords([("a", "bcde")]) == Array("9 a=bcde\n".utf8))
        #expect(TarWriter.paxRecords([("a", "bcdef")]) == Array("11 a=bcdef\n".utf8))
    }

    @Test func rejectsContentBeyondTheDeclaredSize() throws {
        var writer = TarWriter()
        _ = try writer.header(for: .init(path: "f", kind: .regular(size: 2)))
        #expect(throws: TarWriter.Failure.self) { try writer.content(ByteBuffer(bytes: [1, 2, 3])) }
    }

    @Test func rejectsNextHeaderOrFinishBeforeContentIsComplete() throws {
        var writer = TarWriter()
        _ = try writer.header(for: .init(path: "f", kind: .regular(size: 2)))
        _ = try writer.content(ByteBuffer(bytes: [1]))
        #expect(throws: TarWriter.Failure.self) { try writer.header(for: .init(path: "g", kind: .directory)) }
        #expect(throws: TarWriter.Failure.self) { try writer.finish() }
    }

    @Test(arguments: ["", "a\u{0}b"]) func rejectsUnencodablePaths(_ path: String) {
        var writer = TarWriter()
        #expect(throws: TarWriter.Failure.self) { try writer.header(for: .init(path: path, kind: .directory)) }
    }
}
