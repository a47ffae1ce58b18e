import Foundation
import Glibc
import SkiffTestSupport
import Testing

@testable import SkiffRuntime

@Suite struct FilesystemTests {
    @Test func overlayOptionsListTopLayerFirstAndEscape() {
        let options = OverlayMount.options(lowerDirs: ["/s/base", "/s/a:b,c"], upper: "/i/upper", work: "/i/work")
        #expect(options == "lowerdir=/s/a\\:b\\,c:/s/base,upperdir=/i/upper,workdir=/i/work")
    }

    @Test func rootedReadsStayInsideTheRoot() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let root = temporary.path
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        try "inside\n".write(toFile: root + "/etc/real", atomically: false, encoding: .utf8)
        // Absolute and climbing links resolve against the root, not the host.
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/passwd", withDestinationPath: "/etc/real")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/etc/group", withDestinationPath: "../../../../etc/real")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/hostname", withDestinationPath: "/etc/hostname")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/loop", withDestinationPath: "loop")
        #expect(try RootedFile.read(root: root, path: "etc/passwd") == "inside\n")
        #expect(try RootedFile.read(root: root, path: "etc/group") == "inside\n")
        #expect(try RootedFile.read(root: root, path: "etc/hostname") == nil)
        #expect(try RootedFile.read(root: root, path: "etc/loop") == nil)
        #expect(try RootedFile.read(root: root, path: "etc/missing") == nil)
    }

    @Test(.enabled(if: Host.isRoot, "mounting needs root"))
    func mountsManyLongLayerPathsThroughShortLinks() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let root = temporary.path
        let long = String(repeating: "l", count: 100)
        var layers: [String] = []
        for index in 0..<60 {
            let layer = "\(root)/snapshots/\(long)/\(index)"
            try FileManager.default.createDirectory(atPath: layer, withIntermediateDirectories: true)
            try "\(index)".write(toFile: "\(layer)/which", atomically: false, encoding: .utf8)
            layers.append(layer)
        }
        #expect(OverlayMount.options(lowerDirs: layers, upper: "u", work: "w").utf8.count > OverlayMount.optionLimit)
        for directory in ["upper", "work", "rootfs"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        try OverlayMount.mount(
            lowerDirs: layers, upper: "\(root)/upper", work: "\(root)/work", target: "\(root)/rootfs",
            linkDir: "\(root)/l")
        defer { try? OverlayMount.unmount("\(root)/rootfs") }
        #expect(Host.read("\(root)/rootfs/which") == "59")
        try OverlayMount.unmount("\(root)/rootfs")
        #expect(!((try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? "").contains(root))
    }
}
