import Foundation
import SkiffArchive

// FileManager rather than stat(2): with NIO in the module, `struct stat` resolves to NIO's
// C shim under member import visibility.
extension LayoutArchive {
    /// Lists the layout's files (links to regular files followed) in the order they are sent.
    static func planSync(directory: String) -> Result<LayoutArchive, CLIError> {
        do throws(CLIError) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw CLIError(.invalidInput, "cannot read \(directory): not a directory")
            }
            for required in ["oci-layout", "index.json"] {
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + required),
                    Self.followedType(attributes, path: directory + "/" + required) == .typeRegular
                else {
                    throw CLIError(
                        .invalidInput,
                        "\(directory) is not an OCI image layout: it has no \(required) (expected oci-layout, index.json and blobs/)"
                    )
                }
            }
            guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
                throw CLIError(.io, "cannot list \(directory)")
            }
            var members: [Member] = []
            while let relative = enumerator.nextObject() as? String {
                let full = directory + "/" + relative
                let attributes: [FileAttributeKey: Any]
                do {
                    attributes = try FileManager.default.attributesOfItem(atPath: full)
                } catch {
                    throw CLIError(.io, "cannot read \(full): \(error.localizedDescription)")
                }
                var info = attributes
                var kind = attributes[.type] as? FileAttributeType
                if kind == .typeSymbolicLink {
                    // Follow links to regular files only; a link to a directory could loop.
                    let target = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
                    guard let followed = try? FileManager.default.attributesOfItem(atPath: target),
                        followed[.type] as? FileAttributeType == .typeRegular
                    else { continue }
                    info = followed
                    kind = .typeRegular
                }
                let mode = UInt32((info[.posixPermissions] as? Int ?? 0o644) & 0o777)
                let mtime = Int64((info[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
                switch kind {
                case .typeDirectory:
                    members.append(
                        Member(
                            entry: .init(path: relative, kind: .directory, mode: mode, modificationTime: mtime),
                            source: full))
                case .typeRegular:
                    let size = Int64((info[.size] as? NSNumber)?.int64Value ?? 0)
                    members.append(
                        Member(
                            entry: .init(
                                path: relative, kind: .regular(size: size), mode: mode, modificationTime: mtime),
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

    /// The type of the file a path names, following one symlink.
    static func followedType(_ attributes: [FileAttributeKey: Any], path: String) -> FileAttributeType? {
        let type = attributes[.type] as? FileAttributeType
        guard type == .typeSymbolicLink else { return type }
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? FileManager.default.attributesOfItem(atPath: target))?[.type] as? FileAttributeType
    }
}
