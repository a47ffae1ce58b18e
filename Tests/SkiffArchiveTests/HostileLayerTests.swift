import Foundation
import SkiffArchive
import SkiffTestSupport
import SystemPackage
import Testing

/// One crafted layer that must be rejected with `code`.
struct HostileLayer: CustomTestStringConvertible, Sendable {
    let name: String
    let code: ArchiveError.Code
    var limits = UnpackLimits()
    /// Applies only to the tar; gzip-level cases are in `rejectsBrokenGzip`.
    let tar: @Sendable () -> [UInt8]

    var testDescription: String { name }

    init(
        _ name: String, _ code: ArchiveError.Code, limits: UnpackLimits = .init(),
        _ build: @escaping @Sendable (inout TarBuilder) -> Void
    ) {
        self.name = name
        self.code = code
        self.limits = limits
        self.tar = {
            var builder = TarBuilder()
            builder.file("ok", contents: "a harmless entry first")
            build(&builder)
            return builder.finish()
        }
    }

    init(
        _ name: String, _ code: ArchiveError.Code, limits: UnpackLimits = .init(),
        raw: @escaping @Sendable () -> [UInt8]
    ) {
        self.name = name
        self.code = code
        self.limits = limits
        self.tar = raw
    }
}

@Suite("LayerUnpacker: hostile layers are rejected and leave nothing behind")
struct HostileLayerTests {
    static let pathCases: [HostileLayer] = [
        .init("absolute path", .absolutePath) { $0.file("/etc/passwd", contents: "root::0:0") },
        .init("absolute directory", .absolutePath) { $0.directory("/tmp/") },
        .init("leading ..", .pathTraversal) { $0.file("../x", contents: "x") },
        .init("climbing .. inside", .pathTraversal) { $0.file("a/../../x", contents: "x") },
        .init("harmless-looking ..", .pathTraversal) { $0.file("a/../b", contents: "x") },
        .init(".. as symlink name", .pathTraversal) { $0.symlink("..", target: "/") },
        .init("empty name", .invalidPath) { $0.file("", contents: "x") },
        .init("./ as a file", .invalidPath) { $0.file("./", contents: "x") },
        .init(". as a symlink", .invalidPath) { $0.symlink(".", target: "/etc") },
        .init("pax path with ..", .pathTraversal) {
            var entry = TarBuilder.Entry(name: "innocent", typeflag: TarBuilder.TypeFlag.regular)
            entry.pax = [.init("path", "../../etc/cron.d/x")]
            $0.append(entry)
        },
        .init("GNU long name absolute", .absolutePath) {
            $0.gnuLongName("/" + String(repeating: "a/", count: 60) + "x")
            $0.file("placeholder", contents: "x")
        },
        .init("path longer than the limit", .limitExceeded, limits: .init(maxPathLength: 200)) {
            $0.file(String(repeating: "a", count: 150) + "/" + String(repeating: "b", count: 100), contents: "x")
        },
        .init("path deeper than the limit", .limitExceeded, limits: .init(maxPathDepth: 8)) {
            $0.file(String(repeating: "d/", count: 9) + "f", contents: "x")
        },
    ]

    static let linkCases: [HostileLayer] = [
        .init("write through absolute symlink", .symlinkTraversal) {
            $0.symlink("lib", target: "/etc")
            $0.file("lib/passwd", contents: "owned")
        },
        .init("write through in-root symlink", .symlinkTraversal) {
            $0.directory("usr/lib")
            $0.symlink("lib", target: "usr/lib")
            $0.file("lib/x", contents: "x")
        },
        .init("directory through symlink", .symlinkTraversal) {
            $0.symlink("lib", target: "/etc")
            $0.directory("lib/cron.d/")
        },
        .init("symlink climbing out then written through", .symlinkEscape) {
            $0.symlink("lib", target: "../../..")
            $0.file("lib/x", contents: "x")
        },
        .init("relative symlink escaping from a subdirectory", .symlinkEscape) {
            $0.symlink("a/b", target: "../../../etc")
        },
        .init("symlink escaping transiently", .symlinkEscape) { $0.symlink("x", target: "../x") },
        .init("hardlink to absolute target", .hardlinkEscape) { $0.hardlink("h", target: "/etc/passwd") },
        .init("hardlink climbing out", .hardlinkEscape) { $0.hardlink("h", target: "../etc/passwd") },
        .init("hardlink climbing out from inside", .hardlinkEscape) { $0.hardlink("h", target: "ok/../../etc/shadow") },
        .init("hardlink to a missing file", .hardlinkEscape) { $0.hardlink("h", target: "missing") },
        .init("hardlink to a file that comes later", .hardlinkEscape) {
            $0.hardlink("h", target: "later")
            $0.file("later", contents: "x")
        },
        .init("hardlink to a symlink", .hardlinkEscape) {
            $0.symlink("s", target: "/etc/shadow")
            $0.hardlink("h", target: "s")
        },
        .init("hardlink to a directory", .hardlinkEscape) {
            $0.directory("d")
            $0.hardlink("h", target: "d")
        },
        .init("hardlink through a symlinked directory", .hardlinkEscape) {
            $0.symlink("etc", target: "/etc")
            $0.hardlink("h", target: "etc/passwd")
        },
        .init("hardlink to the root", .hardlinkEscape) { $0.hardlink("h", target: "./") },
        .init("proc as symlink", .protectedPathSymlink) { $0.symlink("proc", target: "/") },
        .init("./sys as symlink", .protectedPathSymlink) { $0.symlink("./sys/", target: "/tmp") },
        .init("dev as hardlink", .protectedPathSymlink) { $0.hardlink("dev", target: "ok") },
    ]

    static let typeCases: [HostileLayer] = [
        .init("character device", .deviceNode) { $0.characterDevice("dev/mem", major: 1, minor: 1) },
        .init("block device", .deviceNode) { $0.blockDevice("sda", major: 8, minor: 0) },
        .init("fifo", .deviceNode) { $0.fifo("pipe") },
        .init("GNU sparse type", .unsupportedEntry) {
            $0.append(TarBuilder.Entry(name: "sparse", typeflag: UInt8(ascii: "S"), contents: [0]))
        },
        .init("volume label", .unsupportedEntry) {
            $0.append(TarBuilder.Entry(name: "label", typeflag: UInt8(ascii: "V")))
        },
        .init("pax GNU sparse file", .unsupportedEntry) {
            var entry = TarBuilder.Entry(name: "sparse", typeflag: TarBuilder.TypeFlag.regular, contents: [1])
            entry.pax = [.init("GNU.sparse.major", "1"), .init("GNU.sparse.minor", "0")]
            $0.append(entry)
        },
        .init("global pax path", .unsupportedEntry) {
            $0.paxHeader([.init("path", "etc/passwd")], global: true)
            $0.file("x", contents: "x")
        },
    ]

    static let whiteoutCases: [HostileLayer] = [
        .init(".wh.. (whiteout of .)", .whiteoutInvalid) { $0.file("a/.wh..") },
        .init(".wh. (empty name)", .whiteoutInvalid) { $0.file("a/.wh.") },
        .init(".wh... (whiteout of ..)", .whiteoutInvalid) { $0.file(".wh...") },
        .init("whiteout with children", .whiteoutInvalid) { $0.file("a/.wh.b/c") },
        .init("reserved .wh..wh. prefix", .whiteoutInvalid) { $0.file("a/.wh..wh.foo") },
        .init("opaque marker look-alike", .whiteoutInvalid) { $0.file("a/.wh..wh..opqx") },
        .init("whiteout as symlink", .whiteoutInvalid) { $0.symlink("a/.wh.b", target: "/etc") },
        .init("whiteout as directory", .whiteoutInvalid) { $0.directory("a/.wh.b/") },
        .init("whiteout as hardlink", .whiteoutInvalid) { $0.hardlink(".wh.x", target: "ok") },
        .init("opaque marker as directory", .whiteoutInvalid) { $0.directory("a/.wh..wh..opq/") },
    ]

    static let sizeCases: [HostileLayer] = [
        .init(
            "header size larger than the data (EOF inside entry)", .truncated,
            raw: {
                var b = TarBuilder()
                var entry = TarBuilder.Entry(
                    name: "big", typeflag: TarBuilder.TypeFlag.regular, contents: Array("short".utf8))
                entry.declaredSize = 100_000
                b.append(entry)
                return b.finish(endOfArchive: false)
            }),
        .init(
            "EOF inside a header", .truncated,
            raw: {
                var b = TarBuilder()
                b.file("a", contents: "a")
                b.file("b", contents: "b")
                return Array(b.finish().prefix(1024 + 300))
            }),
        .init(
            "EOF inside a pax header", .truncated,
            raw: {
                var b = TarBuilder()
                b.paxHeader([.init("path", String(repeating: "x", count: 900))])
                return Array(b.finish(endOfArchive: false).prefix(700))
            }),
        .init(
            "pax size larger than the data", .truncated,
            raw: {
                var b = TarBuilder()
                var entry = TarBuilder.Entry(
                    name: "f", typeflag: TarBuilder.TypeFlag.regular, contents: Array("data".utf8))
                entry.pax = [.init("size", "1048576")]
                b.append(entry)
                return b.finish()
            }),
        .init("pax size over the entry limit", .sizeExceeded) {
            var entry = TarBuilder.Entry(name: "f", typeflag: TarBuilder.TypeFlag.regular)
            entry.pax = [.init("size", "99999999999999999")]
            $0.append(entry)
        },
        .init("entry over the entry limit", .sizeExceeded, limits: .init(maxEntrySize: 1000)) {
            $0.file("f", contents: [UInt8](repeating: 1, count: 1001))
        },
        .init("base-256 size over the entry limit", .sizeExceeded) {
            var entry = TarBuilder.Entry(name: "f", typeflag: TarBuilder.TypeFlag.regular)
            entry.declaredSize = 1 << 40
            entry.forceBase256 = true
            $0.append(entry)
        },
        .init("total over maxTotalBytes", .limitExceeded, limits: .init(maxTotalBytes: 64 << 10)) {
            for index in 0..<3 { $0.file("f\(index)", contents: [UInt8](repeating: 7, count: 30 << 10)) }
        },
        .init(
            "stream over maxTotalBytes after the end marker", .limitExceeded, limits: .init(maxTotalBytes: 1 << 20),
            raw: {
                var b = TarBuilder()
                b.file("f", contents: "x")
                return b.finish() + [UInt8](repeating: 0, count: 4 << 20)
            }),
        .init("more entries than maxEntries", .limitExceeded, limits: .init(maxEntries: 3)) {
            for index in 0..<5 { $0.file("f\(index)", contents: "x") }
        },
        .init("pax header over its limit", .limitExceeded, limits: .init(maxPaxHeaderSize: 512)) {
            var entry = TarBuilder.Entry(name: "f", typeflag: TarBuilder.TypeFlag.regular)
            entry.xattrs = [.init("user.big", [UInt8](repeating: 65, count: 1000))]
            $0.append(entry)
        },
        .init("bad header checksum", .badHeader) {
            var entry = TarBuilder.Entry(name: "f", typeflag: TarBuilder.TypeFlag.regular, contents: Array("x".utf8))
            entry.checksumDelta = 1
            $0.append(entry)
        },
        .init(
            "non-octal size field", .badHeader,
            raw: {
                var b = TarBuilder()
                b.file("victim", contents: "x")
                var tar = b.finish()
                tar[124 + 5] = UInt8(ascii: "9")
                Self.fixChecksum(&tar, header: 0)
                return tar
            }),
        .init(
            "size that overflows 64 bits in base-256", .badHeader,
            raw: {
                var b = TarBuilder()
                b.file("victim", contents: "x")
                var tar = b.finish()
                // size field (12 bytes) as base-256 with 11 value bytes of 0xff.
                tar.replaceSubrange(124..<136, with: [0x80] + [UInt8](repeating: 0xff, count: 11))
                Self.fixChecksum(&tar, header: 0)
                return tar
            }),
        .init("malformed pax record", .badHeader) {
            $0.raw(Self.rawEntry(typeflag: UInt8(ascii: "x"), data: Array("99 path=x\n".utf8)))
            $0.file("f", contents: "x")
        },
        .init(
            "lone zero block followed by data", .badHeader,
            raw: {
                var b = TarBuilder()
                b.file("a", contents: "a")
                b.raw([UInt8](repeating: 0, count: 512))
                b.file("b", contents: "b")
                return b.finish()
            }),
    ]

    /// Recomputes the checksum of the header block at `header` after a test patched it.
    static func fixChecksum(_ tar: inout [UInt8], header: Int) {
        for index in 148..<156 { tar[header + index] = 0x20 }
        let sum = tar[header..<(header + 512)].reduce(0) { $0 + Int($1) }
        let text = Array(String(sum, radix: 8).utf8)
        let padded = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - text.count) + text + [0]
        tar.replaceSubrange((header + 148)..<(header + 155), with: padded)
    }

    /// A header block with `data`, checksum correct, for raw metadata entries.
    static func rawEntry(typeflag: UInt8, data: [UInt8]) -> [UInt8] {
        var b = TarBuilder()
        b.append(TarBuilder.Entry(name: "raw", typeflag: typeflag, contents: data))
        return b.finish(endOfArchive: false)
    }

    @Test("rejects hostile paths", arguments: pathCases, [LayerCompression.none, .gzip])
    func rejectsHostilePaths(layer: HostileLayer, compression: LayerCompression) throws {
        try Self.expectRejected(layer, compression: compression)
    }

    @Test("rejects escaping links", arguments: linkCases, [LayerCompression.none, .gzip])
    func rejectsEscapingLinks(layer: HostileLayer, compression: LayerCompression) throws {
        try Self.expectRejected(layer, compression: compression)
    }

    @Test("rejects devices, FIFOs and unsupported types", arguments: typeCases, [LayerCompression.none, .gzip])
    func rejectsUnsupportedTypes(layer: HostileLayer, compression: LayerCompression) throws {
        try Self.expectRejected(layer, compression: compression)
    }

    @Test("rejects whiteout abuse", arguments: whiteoutCases, [LayerCompression.none, .gzip])
    func rejectsWhiteoutAbuse(layer: HostileLayer, compression: LayerCompression) throws {
        try Self.expectRejected(layer, compression: compression)
    }

    @Test("rejects truncated, oversized and malformed archives", arguments: sizeCases, [LayerCompression.none, .gzip])
    func rejectsMalformedArchives(layer: HostileLayer, compression: LayerCompression) throws {
        try Self.expectRejected(layer, compression: compression)
    }

    static let brokenGzip: [(String, ArchiveError.Code, @Sendable ([UInt8]) -> [UInt8])] = [
        (
            "corrupt deflate data", .decompression,
            { gz in
                var bytes = gz
                for index in stride(from: 40, to: min(bytes.count - 8, 400), by: 7) { bytes[index] ^= 0x5a }
                return bytes
            }
        ),
        (
            "corrupt CRC trailer", .decompression,
            { gz in
                var bytes = gz
                bytes[bytes.count - 6] ^= 0xff
                return bytes
            }
        ),
        ("truncated gzip stream", .truncated, { gz in Array(gz.prefix(gz.count / 2)) }),
        ("gzip stream missing its trailer", .truncated, { gz in Array(gz.dropLast(4)) }),
        ("garbage after the gzip stream", .decompression, { gz in gz + Array("garbage".utf8) }),
        ("not gzip at all", .decompression, { _ in Array("this is not gzip".utf8) }),
    ]

    @Test("rejects broken gzip streams", arguments: 0..<6)
    func rejectsBrokenGzip(index: Int) throws {
        let (name, code, damage) = Self.brokenGzip[index]
        var b = TarBuilder()
        b.file("a", contents: noise(count: 20_000))
        b.file("b", contents: "b")
        let blob = damage(try TarBuilder.gzip(b.finish()))
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let source = try scratch.layer(blob)
        let error = #expect(throws: ArchiveError.self, "\(name)") {
            try LayerUnpacker().unpack(layerAt: source, compression: .gzip, into: FilePath(scratch.path + "/snapshot"))
        }
        #expect(error?.code == code, "\(name): \(String(describing: error))")
        #expect(try scratch.listing() == ["layer.tar"], "\(name) left files behind")
    }

    static func expectRejected(_ layer: HostileLayer, compression: LayerCompression) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let error = #expect(throws: ArchiveError.self, "\(layer.name)") {
            try scratch.unpack(layer.tar(), compression: compression, limits: layer.limits)
        }
        #expect(error?.code == layer.code, "\(layer.name): \(String(describing: error))")
        #expect(error?.message.contains("layer \(scratch.path)/snapshot.layer") == true)
        #expect(fileType(scratch.path + "/snapshot") == nil)
        #expect(try scratch.listing() == ["snapshot.layer"], "\(layer.name) left files behind")
    }
}
