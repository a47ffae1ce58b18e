import Foundation
import NIOPosix
import SkiffArchive
public import SystemPackage

/// What an imported image layout held: its index, and which blobs were new to the store
/// (so a caller that rejects the image can take them out again).
public struct ImportedLayout: Sendable {
    public var index: Index
    public var newBlobs: [Digest]
}

/// Reads an OCI image layout packed as a tar (an "oci-archive", optionally gzipped): every
/// `blobs/ALG/HEX` entry is streamed into the blob store and verified against its name.
public enum OCIArchive {
    /// The largest `index.json` or `oci-layout` accepted: they list manifests, not content.
    static let maxMetadataSize = 4 << 20

    public static func importBlobs(from path: FilePath, into blobs: BlobStore) async throws(OCIError) -> ImportedLayout
    {
        do {
            return try await NIOThreadPool.singleton.runIfActive { try importSync(from: path, into: blobs) }
        } catch let error as OCIError {
            throw error
        } catch {
            throw OCIError(.io, "cannot read \(path)", cause: error)
        }
    }

    static func importSync(from path: FilePath, into blobs: BlobStore) throws(OCIError) -> ImportedLayout {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readOnly)
        } catch {
            throw OCIError(.io, "cannot open \(path)", cause: error)
        }
        defer { try? fd.close() }
        var added: [Digest] = []
        do throws(OCIError) {
            let reader = try makeReader(fd)
            var indexBytes: [UInt8]?
            var layoutBytes: [UInt8]?
            while let entry = try archive({ () throws(ArchiveError) in try reader.next() }) {
                let name = normalized(entry.path)
                switch name {
                case "index.json":
                    indexBytes = try archive { () throws(ArchiveError) in
                        try reader.readAllData(maxBytes: maxMetadataSize)
                    }
                case "oci-layout":
                    layoutBytes = try archive { () throws(ArchiveError) in
                        try reader.readAllData(maxBytes: maxMetadataSize)
                    }
                default:
                    let parts = name.split(separator: "/")
                    guard parts.count == 3, parts[0] == "blobs", entry.type == .regular else { continue }
                    let digest: Digest
                    do {
                        digest = try Digest("\(parts[1]):\(parts[2])")
                    } catch {
                        throw OCIError(
                            .invalidLayout, "invalid image layout: blob file \(name) is not named by a digest")
                    }
                    if let size = blobs.size(of: digest), size == entry.size { continue }
                    let writer = try blobs.ingest(expected: digest, expectedSize: entry.size)
                    do throws(OCIError) {
                        while try archive({ () throws(ArchiveError) in
                            try reader.readData { (chunk) throws(ArchiveError) in
                                do throws(OCIError) {
                                    try writer.write(chunk)
                                } catch {
                                    throw ArchiveError(.io, error.message)
                                }
                            }
                        }) {}
                        added.append(try writer.commit())
                    } catch {
                        writer.abort()
                        throw error.code == .digestMismatch
                            ? OCIError(.digestMismatch, "invalid image layout: blob \(name): \(error.message)") : error
                    }
                }
            }
            guard let layoutBytes else {
                throw OCIError(
                    .invalidLayout, "invalid image layout: no oci-layout file (is this an OCI image layout?)")
            }
            struct LayoutFile: Decodable { var imageLayoutVersion: String }
            guard let layout = try? JSONDecoder().decode(LayoutFile.self, from: Data(layoutBytes)),
                layout.imageLayoutVersion.hasPrefix("1.")
            else {
                throw OCIError(.invalidLayout, "invalid image layout: oci-layout must declare imageLayoutVersion 1.x")
            }
            guard let indexBytes else { throw OCIError(.invalidLayout, "invalid image layout: no index.json") }
            let index: Index
            do {
                index = try JSONDecoder().decode(Index.self, from: Data(indexBytes))
            } catch {
                throw OCIError(.invalidLayout, "invalid image layout: index.json: \(error)")
            }
            return ImportedLayout(index: index, newBlobs: added)
        } catch {
            for digest in added { blobs.remove(digest) }
            throw error
        }
    }

    private static func makeReader(_ fd: FileDescriptor) throws(OCIError) -> TarReader {
        var magic: [UInt8] = [0, 0]
        let count = (try? magic.withUnsafeMutableBytes { try fd.read(fromAbsoluteOffset: 0, into: $0) }) ?? 0
        let file = FileByteSource(descriptor: fd)
        if count == 2, magic == [0x1f, 0x8b] {
            return TarReader(source: try archive { () throws(ArchiveError) in try GzipByteSource(upstream: file) })
        }
        return TarReader(source: file)
    }

    private static func normalized(_ path: String) -> String {
        var name = Substring(path)
        while name.hasPrefix("./") { name = name.dropFirst(2) }
        return String(name)
    }

    private static func archive<T>(_ body: () throws(ArchiveError) -> T) throws(OCIError) -> T {
        do {
            return try body()
        } catch {
            throw OCIError(.invalidLayout, "invalid image archive: \(error)")
        }
    }
}
