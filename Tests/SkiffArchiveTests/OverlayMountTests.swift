import Foundation
import SkiffArchive
import SkiffTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Mounts real overlayfs stacks of unpacked snapshots. Needs root and overlay support;
/// skipped (not failed) where mounting is not permitted.
@Suite("LayerUnpacker snapshots as overlayfs lower layers")
struct OverlayMountTests {
    /// Whether this process may mount overlayfs (EPERM in unprivileged containers).
    static let canMountOverlay: Bool = {
        guard let scratch = try? TemporaryDirectory() else { return false }
        defer { scratch.remove() }
        let lower = scratch.path + "/lower"
        let target = scratch.path + "/target"
        guard mkdir(lower, 0o755) == 0, mkdir(target, 0o755) == 0, mkdir(lower + "2", 0o755) == 0 else { return false }
        guard mount("overlay", target, "overlay", UInt(MS_RDONLY), "lowerdir=\(lower):\(lower)2") == 0 else {
            return false
        }
        umount2(target, 0)
        return true
    }()

    @Test("a whited-out file and an opaque directory's lower content are hidden", .enabled(if: canMountOverlay))
    func whiteoutsHideLowerContent() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var base = TarBuilder()
        base.file("etc/hidden", contents: "lower")
        base.file("etc/kept", contents: "kept")
        base.file("var/cache/old", contents: "old")
        base.directory("gone-dir")
        base.file("gone-dir/f", contents: "f")
        try scratch.unpack(base.finish(), compression: .gzip, into: "base")

        var top = TarBuilder()
        top.whiteout("etc/hidden")
        top.whiteout("gone-dir")
        top.opaque("var/cache")
        top.file("var/cache/new", contents: "new")
        try scratch.unpack(top.finish(), into: "top")

        let target = scratch.path + "/merged"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        let options = "lowerdir=\(scratch.path)/top:\(scratch.path)/base"
        let result = mount("overlay", target, "overlay", UInt(MS_RDONLY), options)
        try #require(result == 0, "mount failed: \(String(cString: strerror(errno)))")
        defer { umount2(target, 0) }

        #expect(fileType(target + "/etc/hidden") == nil)
        #expect(try readFile(target + "/etc/kept") == Array("kept".utf8))
        #expect(fileType(target + "/gone-dir") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/var/cache") == ["new"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/etc") == ["kept"])
    }
}
