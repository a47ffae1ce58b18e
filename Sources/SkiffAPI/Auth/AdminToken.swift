public import Foundation
import SkiffModel
public import SkiffStore

#if canImport(Glibc)
    import Glibc
#endif

/// The first token: made on first start, written once to a 0600 file for the operator.
public enum AdminToken {
    /// Creates an admin token when the store has none; returns it only when it was just made.
    public static func bootstrap(store: Store, tokenFile: String) async throws -> String? {
        guard try await store.tokenCount() == 0 else { return nil }
        let token = TokenHash.newToken()
        try writePrivate(Data((token + "\n").utf8), to: tokenFile)
        try await store.addToken(id: "admin", hash: TokenHash.of(token), role: .admin)
        return token
    }

    /// Writes a file only its owner can read, without a window where it is readable by others.
    public static func writePrivate(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == data.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }
}
