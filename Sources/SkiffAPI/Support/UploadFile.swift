import Foundation
import Hummingbird
import NIOCore
import NIOFileSystem
import NIOPosix

/// A request body written to a private temporary file.
struct UploadFile: Sendable {
    let path: String

    static func receive(_ body: RequestBody, into directory: String) async throws -> UploadFile {
        var generator = SystemRandomNumberGenerator()
        let path = "\(directory)/upload-\(String(generator.next(), radix: 16))"
        do {
            try await FileSystem.shared.withFileHandle(
                forWritingAt: FilePath(path), options: .newFile(replaceExisting: false, permissions: [.ownerReadWrite])
            ) { handle in
                var writer = handle.bufferedWriter(capacity: .mebibytes(1))
                for try await buffer in body {
                    try await writer.write(contentsOf: buffer)
                }
                try await writer.flush()
            }
        } catch {
            unlink(path)
            throw APIError(.badRequest, code: "invalid_argument", "cannot receive upload: \(error)")
        }
        return UploadFile(path: path)
    }

    func remove() { unlink(path) }
}
