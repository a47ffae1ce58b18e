import Foundation
import SkiffArchive
import SkiffTestSupport
import SystemPackage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("LayerUnpacker: well-formed layers")
struct LayerUnpackerTests {
    static let longDirectory = String(repeating: "d", count: 90) + "/" + String(repeating: "e", count: 90)
    static let longPaxName = longDirectory + "/" + String(repeating: "p", count: 120) + ".txt"
    static let longGNUName = String(repeating: "g", count: 150) + "/" + String(repeating: "n", count: 130)

    /// A layer with most of what real images contain.
    static func typicalLayer() -> [UInt8] {
        var b = TarBuilder()
        b.directory("./", mode: 0o755, mtime: 1_600_000_000)
        b.directory("./bin/", mode: 0o755, mtime: 1_500_000_000)
        b.file("./bin/busybox", contents: "#!/bin/sh\necho hi\n", mode: 0o755, uid: 0, gid: 0, mtime: 1_400_000_000)
        b.symlink("bin/sh", target: "/bin/busybox", mtime: 1_300_000_000)
        b.symlink("bin/ls", target: "busybox")
        b.hardlink("bin/cat", target: "./bin/busybox")
        b.directory("tmp/", mode: 0o1777)
        b.directory("home/app/", mode: 0o750, uid: 1000, gid: 1001)
        b.file("home/app/big-ids", contents: "x", uid: 3_000_000, gid: 4_000_000)
        b.file("usr/bin/sudo", contents: "suid", mode: 0o4755)
        b.file("usr/bin/wall", contents: "sgid", mode: 0o2755, gid: 5)
        b.file(
            "etc/xattr", contents: "x", xattrs: [.init("user.skiff.test", "value"), .init("trusted.skiff", [0, 1, 2])])
        b.file(longPaxName, contents: "pax long name")
        var gnu = TarBuilder.Entry(
            name: longGNUName, typeflag: TarBuilder.TypeFlag.regular, contents: Array("gnu".utf8))
        gnu.longNameStyle = .gnu
        b.append(gnu)
        var link = TarBuilder.Entry(name: "long-link", typeflag: TarBuilder.TypeFlag.hardlink)
        link.linkName = longGNUName
        link.longNameStyle = .gnu
        b.append(link)
        b.file("empty", contents: [])
        return b.finish()
    }

    @Test("unpacks a typical layer", arguments: [LayerCompression.none, .gzip, .detect])
    func unpacksTypicalLayer(compression: LayerCompression) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var tar = Self.typicalLayer()
        if compression == .detect { tar = try TarBuilder.gzip(tar) }
        let stats = try scratch.unpack(tar, compression: compression)
        let root = scratch.path + "/snapshot"

        #expect(stats.entries == 16)
        #expect(try readFile(root + "/bin/busybox") == Array("#!/bin/sh\necho hi\n".utf8))
        #expect(readLink(root + "/bin/sh") == "/bin/busybox")
        #expect(readLink(root + "/bin/ls") == "busybox")
        let busybox = try #require(lstatInfo(root + "/bin/busybox"))
        let cat = try #require(lstatInfo(root + "/bin/cat"))
        #expect(busybox.st_ino == cat.st_ino)
        #expect(busybox.st_nlink == 2)
        #expect(busybox.st_mode & 0o7777 == 0o755)
        #expect(busybox.st_mtim.tv_sec == 1_400_000_000)
        #expect(lstatInfo(root + "/bin/sh")?.st_mtim.tv_sec == 1_300_000_000)
        #expect(lstatInfo(root + "/bin")?.st_mtim.tv_sec == 1_500_000_000)
        #expect(lstatInfo(root)?.st_mtim.tv_sec == 1_600_000_000)
        #expect(lstatInfo(root + "/tmp")?.st_mode == S_IFDIR | 0o1777)
        let home = try #require(lstatInfo(root + "/home/app"))
        #expect(home.st_mode & 0o7777 == 0o750)
        #expect(home.st_uid == 1000 && home.st_gid == 1001)
        let bigIDs = try #require(lstatInfo(root + "/home/app/big-ids"))
        #expect(bigIDs.st_uid == 3_000_000 && bigIDs.st_gid == 4_000_000)
        #expect(lstatInfo(root + "/usr/bin/sudo")?.st_mode == S_IFREG | 0o4755)
        let wall = try #require(lstatInfo(root + "/usr/bin/wall"))
        #expect(wall.st_mode == S_IFREG | 0o2755 && wall.st_gid == 5)
        // Parents the layer did not list are created 0755.
        #expect(lstatInfo(root + "/usr")?.st_mode == S_IFDIR | 0o755)
        #expect(extendedAttribute(root + "/etc/xattr", "user.skiff.test") == Array("value".utf8))
        #expect(extendedAttribute(root + "/etc/xattr", "trusted.skiff") == [0, 1, 2])
        #expect(try readFile(root + "/" + Self.longPaxName) == Array("pax long name".utf8))
        #expect(try readFile(root + "/" + Self.longGNUName) == Array("gnu".utf8))
        #expect(lstatInfo(root + "/long-link")?.st_ino == lstatInfo(root + "/" + Self.longGNUName)?.st_ino)
        #expect(lstatInfo(root + "/empty")?.st_size == 0)
        #expect(try scratch.listing() == ["snapshot", "snapshot.layer"])
    }

    @Test("streams large files across buffer boundaries", arguments: [1024, 4096 + 512, 1 << 20])
    func streamsLargeFiles(bufferSize: Int) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let big = noise(count: 3 << 20 | 123)
        var b = TarBuilder()
        b.file("a", contents: [1, 2, 3])
        b.file("big", contents: big)
        b.file("odd", contents: noise(count: 777, seed: 7))
        for compression in [LayerCompression.none, .gzip] {
            let name = compression == .gzip ? "gz" : "plain"
            let stats = try scratch.unpack(b.finish(), compression: compression, bufferSize: bufferSize, into: name)
            #expect(stats.bytes == Int64(big.count + 3 + 777))
            #expect(try readFile(scratch.path + "/\(name)/big") == big)
            #expect(try readFile(scratch.path + "/\(name)/odd") == noise(count: 777, seed: 7))
        }
    }

    @Test("later entries replace earlier ones; a directory over a directory merges")
    func laterEntriesReplaceEarlierOnes() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var b = TarBuilder()
        b.file("f", contents: "old")
        b.file("f", contents: "new", mode: 0o600)
        b.directory("d", mode: 0o700)
        b.file("d/keep", contents: "kept")
        b.directory("d/", mode: 0o755)
        b.file("was-file", contents: "x")
        b.directory("was-file")
        b.file("was-file/child", contents: "c")
        b.directory("was-dir")
        b.file("was-dir/child", contents: "c")
        b.symlink("was-dir", target: "d")
        b.file("was-link-target", contents: "t")
        b.symlink("was-link", target: "was-link-target")
        b.file("was-link", contents: "now a file")
        try scratch.unpack(b.finish())
        let root = scratch.path + "/snapshot"
        #expect(try readFile(root + "/f") == Array("new".utf8))
        #expect(lstatInfo(root + "/f")?.st_mode == S_IFREG | 0o600)
        #expect(lstatInfo(root + "/d")?.st_mode == S_IFDIR | 0o755)
        #expect(try readFile(root + "/d/keep") == Array("kept".utf8))
        #expect(try readFile(root + "/was-file/child") == Array("c".utf8))
        #expect(readLink(root + "/was-dir") == "d")
        #expect(try readFile(root + "/was-link") == Array("now a file".utf8))
        #expect(try readFile(root + "/was-link-target") == Array("t".utf8))
    }

    @Test("whiteouts become 0:0 character devices and opaque markers set trusted.overlay.opaque")
    func convertsWhiteouts() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var b = TarBuilder()
        b.directory("etc")
        b.whiteout("etc/motd")
        b.whiteout("gone")
        b.opaque("var/cache")
        b.file("var/cache/new", contents: "n")
        b.directory("opt")
        b.opaque("opt/")
        b.opaque("")
        let stats = try scratch.unpack(b.finish())
        let root = scratch.path + "/snapshot"
        #expect(stats.entries == 8)
        for path in ["etc/motd", "gone"] {
            let info = try #require(lstatInfo(root + "/" + path))
            #expect(info.st_mode & S_IFMT == S_IFCHR)
            #expect(info.st_rdev == 0)
        }
        #expect(fileType(root + "/etc/.wh.motd") == nil)
        #expect(fileType(root + "/var/cache/.wh..wh..opq") == nil)
        #expect(extendedAttribute(root + "/var/cache", "trusted.overlay.opaque") == Array("y".utf8))
        #expect(extendedAttribute(root + "/opt", "trusted.overlay.opaque") == Array("y".utf8))
        #expect(extendedAttribute(root, "trusted.overlay.opaque") == Array("y".utf8))
        #expect(extendedAttribute(root + "/var", "trusted.overlay.opaque") == nil)
        #expect(try readFile(root + "/var/cache/new") == Array("n".utf8))
    }

    @Test("a layer cannot forge trusted.overlay.* xattrs; they are skipped and counted")
    func skipsForgedOverlayXattrs() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var b = TarBuilder()
        b.directory("d", xattrs: [.init("trusted.overlay.redirect", "/etc"), .init("user.ok", "1")])
        let stats = try scratch.unpack(b.finish())
        #expect(stats.skippedXattrs == 1)
        #expect(extendedAttribute(scratch.path + "/snapshot/d", "trusted.overlay.redirect") == nil)
        #expect(extendedAttribute(scratch.path + "/snapshot/d", "user.ok") == Array("1".utf8))
    }

    @Test("accepts an archive that ends without end-of-archive blocks or with only one")
    func acceptsMissingEndBlocks() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var b = TarBuilder()
        b.file("a", contents: "a")
        try scratch.unpack(b.finish(endOfArchive: false), into: "none")
        try scratch.unpack(b.finish(endOfArchive: false) + [UInt8](repeating: 0, count: 512), into: "one")
        #expect(try readFile(scratch.path + "/none/a") == Array("a".utf8))
        #expect(try readFile(scratch.path + "/one/a") == Array("a".utf8))
    }

    @Test("detect reads a plain tar as plain")
    func detectReadsPlainTar() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var b = TarBuilder()
        b.file("plain", contents: "p")
        try scratch.unpack(b.finish(), compression: .detect)
        #expect(try readFile(scratch.path + "/snapshot/plain") == Array("p".utf8))
    }

    @Test("reads concatenated gzip members as one stream")
    func readsMultiMemberGzip() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var b = TarBuilder()
        b.file("a", contents: noise(count: 5000))
        b.file("b", contents: "b")
        let tar = b.finish()
        let blob = try TarBuilder.gzip(Array(tar[..<1536])) + TarBuilder.gzip(Array(tar[1536...]))
        let layer = try scratch.layer(blob)
        try LayerUnpacker().unpack(layerAt: layer, compression: .gzip, into: FilePath(scratch.path + "/s"))
        #expect(try readFile(scratch.path + "/s/a") == noise(count: 5000))
        #expect(try readFile(scratch.path + "/s/b") == Array("b".utf8))
    }

    @Test("refuses an existing destination and leaves it untouched")
    func refusesExistingDestination() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.path + "/snapshot", withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: scratch.path + "/snapshot/keep"))
        var b = TarBuilder()
        b.file("a", contents: "a")
        let error = #expect(throws: ArchiveError.self) { try scratch.unpack(b.finish()) }
        #expect(error?.code == .destinationExists)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/snapshot") == ["keep"])
        #expect(try scratch.listing() == ["snapshot", "snapshot.layer"])
    }
}
