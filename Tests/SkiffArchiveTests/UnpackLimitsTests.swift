import Foundation
import SkiffArchive
import SkiffTestSupport
import SystemPackage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Decompression bombs and full disks: every size bound of ``UnpackLimits`` stops the layer,
/// removes what it wrote and names the limit with its value. The bombs are built from
/// concatenated gzip members (a 1 MiB member of zeros is about 1 KiB), and the limits are set
/// small, so no test writes more than a few tens of MiB.
@Suite("LayerUnpacker: size limits, expansion ratio and disk reserve")
struct UnpackLimitsTests {
    /// Enough room for the largest bomb below to write up to its limit, with margin.
    static let hasRoom: Bool = {
        var info = statvfs()
        guard statvfs(NSTemporaryDirectory(), &info) == 0 else { return false }
        return Int64(info.f_bavail) * Int64(info.f_frsize) > 1 << 30
    }()

    /// A gzip layer holding one file `zeros` that declares `declared` bytes and carries
    /// `carried` MiB of zeros (then the archive's end, if the two agree).
    static func bomb(declared: Int64, carriedMiB: Int) throws -> [UInt8] {
        var builder = TarBuilder()
        var entry = TarBuilder.Entry(name: "zeros", typeflag: TarBuilder.TypeFlag.regular)
        entry.declaredSize = Int(declared)
        builder.append(entry)
        let header = Array(builder.finish().prefix(512))
        let megabyte = try TarBuilder.gzip([UInt8](repeating: 0, count: 1 << 20))
        var blob = try TarBuilder.gzip(header)
        for _ in 0..<carriedMiB { blob += megabyte }
        if Int64(carriedMiB) << 20 == declared { blob += try TarBuilder.gzip([UInt8](repeating: 0, count: 1024)) }
        return blob
    }

    static func unpack(
        _ blob: [UInt8], in scratch: TemporaryDirectory, limits: UnpackLimits, imageBytesRemaining: Int64? = nil,
        into destination: String? = nil
    ) throws -> UnpackStats {
        let source = try scratch.layer(blob)
        return try LayerUnpacker(limits: limits).unpack(
            layerAt: source, compression: .gzip, into: FilePath(destination ?? scratch.path + "/snapshot"),
            imageBytesRemaining: imageBytesRemaining)
    }

    @Test(.enabled(if: hasRoom)) func refusesABombThatDeclaresMoreThanTheLayerLimitBeforeWriting() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let limits = UnpackLimits(maxTotalBytes: 32 << 20)
        let error = #expect(throws: ArchiveError.self) {
            try Self.unpack(try Self.bomb(declared: 10 << 30, carriedMiB: 4), in: scratch, limits: limits)
        }
        #expect(error?.code == .limitExceeded)
        #expect(
            error?.message.contains("per-layer size limit of 32 MiB (33554432 bytes)") == true,
            "\(String(describing: error))")
        #expect(try scratch.listing() == ["layer.tar"])
    }

    @Test(.enabled(if: hasRoom)) func stopsALayerAtWhatItsImageHasLeft() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let limits = UnpackLimits(maxImageBytes: 64 << 20)
        let error = #expect(throws: ArchiveError.self) {
            try Self.unpack(
                try Self.bomb(declared: 48 << 20, carriedMiB: 48), in: scratch, limits: limits,
                imageBytesRemaining: 16 << 20)
        }
        #expect(error?.code == .imageSizeExceeded)
        #expect(error?.message.contains("16 MiB (16777216 bytes)") == true, "\(String(describing: error))")
        #expect(error?.message.contains("per-image size limit of 64 MiB (67108864 bytes)") == true)
        #expect(try scratch.listing() == ["layer.tar"], "the partial snapshot was left behind")
    }

    @Test(.enabled(if: hasRoom)) func stopsABombPastTheExpansionRatio() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let limits = UnpackLimits(maxExpansionRatio: 100, expansionRatioFloor: 8 << 20)
        let blob = try Self.bomb(declared: 64 << 20, carriedMiB: 64)
        let error = #expect(throws: ArchiveError.self) {
            try Self.unpack(blob, in: scratch, limits: limits)
        }
        #expect(error?.code == .expansionRatioExceeded)
        #expect(error?.message.contains("100 times its compressed size of") == true, "\(String(describing: error))")
        #expect(error?.message.contains("\(blob.count) bytes") == true)
        #expect(try scratch.listing() == ["layer.tar"], "the partial snapshot was left behind")
    }

    @Test func unpacksACompressibleLayerBelowTheRatioFloor() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let limits = UnpackLimits(maxExpansionRatio: 100, expansionRatioFloor: 8 << 20)
        let stats = try Self.unpack(try Self.bomb(declared: 4 << 20, carriedMiB: 4), in: scratch, limits: limits)
        #expect(stats.bytes == 4 << 20)
        #expect(stats.uncompressedBytes == 512 + (4 << 20) + 1024)
    }

    @Test(arguments: [LayerCompression.none, .gzip])
    func hashesExactlyTheUncompressedStream(compression: LayerCompression) throws {
        final class Collector: LayerStreamHasher {
            var bytes: [UInt8] = []
            func update(_ chunk: UnsafeRawBufferPointer) { bytes += chunk }
        }
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var builder = TarBuilder()
        builder.file("a", contents: [UInt8](repeating: 7, count: 300_000))
        builder.directory("d/")
        builder.file("d/b", contents: "b")
        let tar = builder.finish() + [UInt8](repeating: 0, count: 4096)
        let blob = compression == .gzip ? try TarBuilder.gzip(tar) : tar
        let collector = Collector()
        let stats = try LayerUnpacker(bufferSize: 64 << 10).unpack(
            layerAt: try scratch.layer(blob), compression: compression, into: FilePath(scratch.path + "/snapshot"),
            hasher: collector)
        #expect(collector.bytes == tar)
        #expect(stats.uncompressedBytes == Int64(tar.count))
    }

    // MARK: - The free-space reserve, on a small tmpfs

    static let canMount = geteuid() == 0

    /// Mounts a `sizeMiB` tmpfs on `path` for `body`, and unmounts it whatever happens.
    static func withTmpfs(at path: String, sizeMiB: Int, _ body: () throws -> Void) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(sizeMiB)m,mode=0755") == 0 else {
            throw ArchiveError(.io, "cannot mount a tmpfs on \(path): \(Errno(rawValue: errno))")
        }
        defer { umount2(path, Int32(MNT_DETACH)) }
        try body()
    }

    static func free(_ path: String) -> (available: Int64, total: Int64) {
        var info = statvfs()
        _ = statvfs(path, &info)
        return (Int64(info.f_bavail) * Int64(info.f_frsize), Int64(info.f_blocks) * Int64(info.f_frsize))
    }

    @Test(.enabled(if: canMount)) func stopsBeforeTheDiskReserveAndRemovesWhatItWrote() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let mountPoint = scratch.path + "/tmpfs"
        try Self.withTmpfs(at: mountPoint, sizeMiB: 48) {
            // 25 % of 48 MiB is 12 MiB; with 1 MiB between checks, writing stops by 35 MiB.
            let limits = UnpackLimits(minFreeDiskFraction: 0.25, diskCheckInterval: 1 << 20)
            let error = #expect(throws: ArchiveError.self) {
                try Self.unpack(
                    try Self.bomb(declared: 40 << 20, carriedMiB: 40), in: scratch, limits: limits,
                    into: mountPoint + "/snapshot")
            }
            #expect(error?.code == .insufficientSpace)
            #expect(error?.message.contains("free-space reserve of 25 %") == true, "\(String(describing: error))")
            let left = try FileManager.default.contentsOfDirectory(atPath: mountPoint)
            #expect(left.isEmpty)
            let (available, total) = Self.free(mountPoint)
            #expect(available > total - (1 << 20), "the partial snapshot's data is still on the tmpfs")
        }
    }

    @Test(.enabled(if: canMount)) func refusesToStartOnAFilesystemAlreadyAtItsReserve() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let mountPoint = scratch.path + "/tmpfs"
        try Self.withTmpfs(at: mountPoint, sizeMiB: 16) {
            try Data(count: 14 << 20).write(to: URL(fileURLWithPath: mountPoint + "/filler"))
            var builder = TarBuilder()
            builder.file("small", contents: "small")
            let limits = UnpackLimits(minFreeDiskFraction: 0.10, diskCheckInterval: 1 << 20)
            let error = #expect(throws: ArchiveError.self) {
                try Self.unpack(
                    try TarBuilder.gzip(builder.finish()), in: scratch, limits: limits, into: mountPoint + "/snapshot")
            }
            #expect(error?.code == .insufficientSpace)
            let left = try FileManager.default.contentsOfDirectory(atPath: mountPoint)
            #expect(left == ["filler"])
        }
    }

    @Test func aReserveOfZeroIsNoCheck() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var builder = TarBuilder()
        builder.file("small", contents: "small")
        let stats = try scratch.unpack(builder.finish(), limits: UnpackLimits(minFreeDiskFraction: 0))
        #expect(stats.entries == 1)
    }
}
