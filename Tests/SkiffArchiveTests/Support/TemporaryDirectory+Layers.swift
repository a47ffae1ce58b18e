import Foundation
import SkiffArchive
import SkiffTestSupport
import SystemPackage

/// A test's scratch directory as the archive tests use it: layer blobs written into it and
/// unpacked beside them.
extension TemporaryDirectory {
    /// Writes `bytes` as a layer blob and returns its path.
    func layer(_ bytes: [UInt8], name: String = "layer.tar") throws -> FilePath {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return FilePath(file)
    }

    /// Unpacks `tar` (gzipping it first for `.gzip`) into `<scratch>/snapshot`.
    @discardableResult
    func unpack(
        _ tar: [UInt8], compression: LayerCompression = .none, limits: UnpackLimits = .init(),
        bufferSize: Int = 1 << 20, into name: String = "snapshot"
    ) throws -> UnpackStats {
        let blob = compression == .gzip ? try TarBuilder.gzip(tar) : tar
        let source = try layer(blob, name: name + ".layer")
        return try LayerUnpacker(limits: limits, bufferSize: bufferSize)
            .unpack(layerAt: source, compression: compression, into: FilePath(path + "/" + name))
    }

    /// Names in the scratch directory itself.
    func listing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }
}
