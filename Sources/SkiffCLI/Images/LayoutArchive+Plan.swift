import Foundation
import SkiffArchive

#if canImport(Glibc)
import Glibc
#endif

// Kept apart from the streaming code: with NIO imported, `stat` resolves to NIO's C shim.
extension LayoutArchive {
    /// Lists the layout's files (links to regular files followed) in the order they are sent.
    static func planSync(directory: String) -> Result<LayoutArchive, CLIError> {
        do throws(CLIError) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CLIError(.invalidInput, "cannot read \(directory): not a directory")
            }
            for required in ["oci-layout", "index.json"] {
                var info = stat()
                guard stat(directory + "/" + required, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                    throw CLIError(
                        .invalidInput,
                        "\(directory) is not an OCI image layout: it has no \(required) (expected oci-layout, index.json and blobs/)")
                }
            }
            guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
                throw CLIError(.io, "cannot list \(directory)")
            }
            var members: [Member] = []
            while let relative = enumerator.nextObject() as? String {
                let full = directory + "/" + relative
                var info = stat()
                guard lstat(full, &info) == 0 else {
                    throw CLIError(.io, "cannot read \(full): \(String(cString: strerror(errno)).lowercased())")
                }
                var kind = info.st_mode & S_IFMT
                if kind == S_IFLNK {
                    // Follow links to regular files only; a link to a directory could loop.
                    guard stat(full, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                    kind = S_IFREG
                }
                let mode = UInt32(info.st_mode & 0o777)
                let mtime = Int64(info.st_mtim.tv_sec)
                switch kind {
                case S_IFDIR:
                    members.append(Member(entry: .init(path: relative, kind: .directory, mode: mode, modificationTime: mtime), source: full))
                case S_IFREG:
                    members.append(
                        Member(
                            entry: .init(path: relative, kind: .regular(size: Int64(info.st_size)), mode: mode, modificationTime: mtime),
                            source: full))
                default:
                    continue  // sockets, FIFOs, devices have no place in an image layout
                }
            }
            members.sort { lhs, rhs in
                let order = ["oci-layout": 0, "index.json": 1]
                let (left, right) = (order[lhs.entry.path] ?? 2, order[rhs.entry.path] ?? 2)
                return left != right ? left < right : lhs.entry.path < rhs.entry.path
            }
            let size: Int64
            do {
                size = try TarWriter.archiveSize(of: members.map(\.entry))
            } catch {
                throw CLIError(.invalidInput, "cannot pack \(directory): \(error.message)")
            }
            return .success(LayoutArchive(directory: directory, members: members, size: size))
        } catch {
            return .failure(error)
        }
    }
}
