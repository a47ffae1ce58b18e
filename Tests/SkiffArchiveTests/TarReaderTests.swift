import NIOCore
import SkiffArchive
import SkiffTestSupport
import Testing

@Suite("TarReader")
struct TarReaderTests {
    static func entries(_ tar: [UInt8], bufferSize: Int = 1024) throws -> [(TarEntry, [UInt8])] {
        let reader = TarReader(source: MemoryByteSource(tar), bufferSize: bufferSize)
        var result: [(TarEntry, [UInt8])] = []
        while let entry = try reader.next() {
            result.append((entry, try reader.readAllData(maxBytes: 1 << 24)))
        }
        return result
    }

    @Test("reads ustar fields, data in chunks, and skips unread data")
    func readsUstarEntries() throws {
        var b = TarBuilder()
        b.file("a.txt", contents: noise(count: 5000), mode: 0o4755, uid: 12, gid: 34, mtime: 1_234_567_890)
        b.directory("dir/", mode: 0o1777)
        b.symlink("link", target: "a.txt")
        b.hardlink("hard", target: "a.txt")
        let tar = b.finish()

        let all = try Self.entries(tar)
        #expect(all.map(\.0.path) == ["a.txt", "dir/", "link", "hard"])
        #expect(all.map(\.0.type) == [.regular, .directory, .symlink, .hardlink])
        let file = all[0].0
        #expect(file.size == 5000 && file.mode == 0o4755 && file.uid == 12 && file.gid == 34)
        #expect(file.modificationTime == TarTimestamp(seconds: 1_234_567_890))
        #expect(all[0].1 == noise(count: 5000))
        #expect(all[1].0.mode == 0o1777)
        #expect(all[2].0.linkName == "a.txt" && all[3].0.linkName == "a.txt")

        // Not reading the data: next() skips it.
        let reader = TarReader(source: MemoryByteSource(tar), bufferSize: 1024)
        var chunks = 0
        _ = try reader.next()
        _ = try reader.readData { chunk in
            chunks += 1
            #expect(chunk.count <= 1024)
        }
        #expect(chunks == 1)
        #expect(try reader.next()?.path == "dir/")
        #expect(try reader.next()?.path == "link")
        #expect(try reader.next()?.path == "hard")
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
    }

    @Test("applies pax records: path, linkpath, size, uid, gid, fractional mtime, xattrs")
    func appliesPaxRecords() throws {
        var b = TarBuilder()
        var entry = TarBuilder.Entry(name: "short", typeflag: TarBuilder.TypeFlag.symlink)
        entry.linkName = "t"
        entry.pax = [
            .init("path", "a/much/longer/ñame"), .init("linkpath", "target/ü"), .init("uid", "4000000000"),
            .init("gid", "77"), .init("mtime", "1700000000.123456789123"), .init("uname", "ignored"),
            .init("atime", "1.5"),
        ]
        entry.xattrs = [.init("security.capability", [1, 0, 0, 2]), .init("user.a", "")]
        b.append(entry)
        var negative = TarBuilder.Entry(name: "old", typeflag: TarBuilder.TypeFlag.regular)
        negative.pax = [.init("mtime", "-1.25")]
        b.append(negative)
        let all = try Self.entries(b.finish())
        let link = all[0].0
        #expect(link.path == "a/much/longer/ñame")
        #expect(link.linkName == "target/ü")
        #expect(link.uid == 4_000_000_000 && link.gid == 77)
        #expect(link.modificationTime == TarTimestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789))
        #expect(
            link.xattrs == [.init(name: "security.capability", value: [1, 0, 0, 2]), .init(name: "user.a", value: [])])
        #expect(all[1].0.modificationTime == TarTimestamp(seconds: -2, nanoseconds: 750_000_000))
        #expect(all[1].0.xattrs.isEmpty)
    }

    @Test("global pax headers set defaults for later entries; an entry's empty record removes one")
    func appliesGlobalPaxHeaders() throws {
        var b = TarBuilder()
        b.file("before", contents: "x")
        b.paxHeader(
            [.init("uid", "500"), .init("mtime", "99"), .init("SCHILY.xattr.user.g", "1"), .init("comment", "git")],
            global: true)
        b.file("after", contents: "x", uid: 1)
        var override = TarBuilder.Entry(name: "override", typeflag: TarBuilder.TypeFlag.regular)
        override.uid = 7
        override.pax = [.init("uid", "")]
        b.append(override)
        let all = try Self.entries(b.finish()).map(\.0)
        #expect(all.map(\.path) == ["before", "after", "override"])
        #expect(all[0].uid == 0 && all[0].xattrs.isEmpty)
        #expect(all[1].uid == 500 && all[1].modificationTime.seconds == 99)
        #expect(all[1].xattrs == [.init(name: "user.g", value: Array("1".utf8))])
        #expect(all[2].uid == 7)
    }

    @Test("GNU long names and long links, ustar prefix, GNU and v7 magic")
    func readsLongNamesAndOldFormats() throws {
        let long = String(repeating: "x", count: 300)
        var b = TarBuilder(longNameStyle: .gnu)
        var link = TarBuilder.Entry(name: long, typeflag: TarBuilder.TypeFlag.symlink)
        link.linkName = String(repeating: "y", count: 200)
        b.append(link)
        let prefixed = String(repeating: "p", count: 120) + "/" + String(repeating: "n", count: 90)
        b.file(prefixed, contents: "p")
        var gnu = TarBuilder.Entry(name: "gnu", typeflag: TarBuilder.TypeFlag.regular)
        gnu.magic = .gnu
        b.append(gnu)
        var v7 = TarBuilder.Entry(name: "v7", typeflag: 0, contents: Array("old".utf8))
        v7.magic = .v7
        b.append(v7)
        let all = try Self.entries(b.finish())
        #expect(all[0].0.path == long && all[0].0.linkName == String(repeating: "y", count: 200))
        #expect(all[1].0.path == prefixed)
        #expect(all[2].0.path == "gnu")
        #expect(all[3].0.path == "v7" && all[3].0.type == .regular && all[3].1 == Array("old".utf8))
    }

    @Test("decodes base-256 numeric fields, including negative mtimes")
    func decodesBase256() throws {
        var b = TarBuilder()
        var entry = TarBuilder.Entry(name: "f", typeflag: TarBuilder.TypeFlag.regular, contents: Array("data".utf8))
        entry.uid = 3_000_000
        entry.gid = 70_000_000
        entry.mtime = -86_400
        entry.forceBase256 = true
        b.append(entry)
        let (read, data) = try #require(try Self.entries(b.finish()).first)
        #expect(read.uid == 3_000_000 && read.gid == 70_000_000)
        #expect(read.modificationTime.seconds == -86_400)
        #expect(read.size == 4 && data == Array("data".utf8))
    }

    @Test("accepts old signed-char header checksums")
    func acceptsSignedChecksums() throws {
        var b = TarBuilder()
        b.file("é-ü", contents: "x")
        var tar = b.finish()
        var signed = 0
        for index in 0..<512 {
            let byte = (148..<156).contains(index) ? 0x20 : tar[index]
            signed += Int(Int8(bitPattern: byte))
        }
        let text = Array(String(signed, radix: 8).utf8)
        tar.replaceSubrange(148..<155, with: [UInt8](repeating: UInt8(ascii: "0"), count: 6 - text.count) + text + [0])
        #expect(try Self.entries(tar).first?.0.path == "é-ü")
    }

    @Test("ignores the size of header-only entries, as GNU tar and Go do")
    func ignoresSizeOfHeaderOnlyEntries() throws {
        var b = TarBuilder()
        var link = TarBuilder.Entry(name: "link", typeflag: TarBuilder.TypeFlag.symlink)
        link.linkName = "x"
        link.declaredSize = 4096
        b.append(link)
        b.file("next", contents: "n")
        let all = try Self.entries(b.finish())
        #expect(all.map(\.0.path) == ["link", "next"])
        #expect(all[0].0.size == 0)
    }

    @Test("readAllData refuses entries over its bound")
    func readAllDataIsBounded() throws {
        var b = TarBuilder()
        b.file("f", contents: noise(count: 100))
        let reader = TarReader(source: MemoryByteSource(b.finish()))
        _ = try reader.next()
        let error = #expect(throws: ArchiveError.self) { try reader.readAllData(maxBytes: 99) }
        #expect(error?.code == .sizeExceeded)
    }

    @Test("gzip source inflates in small output chunks and stops exactly at the end")
    func gzipSourceStreams() throws {
        let data = noise(count: 200_000)
        let gzip = try GzipByteSource(upstream: MemoryByteSource(try TarBuilder.gzip(data)), inputBufferSize: 100)
        var output: [UInt8] = []
        var buffer = ByteBufferShim.make(capacity: 777)
        while true {
            buffer.clear()
            let count = try gzip.read(into: &buffer)
            if count == 0 { break }
            output += buffer.readableBytesView
        }
        #expect(output == data)
    }
}
