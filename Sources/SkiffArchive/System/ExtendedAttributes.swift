#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `fsetxattr` and `lsetxattr`, resolved from libc at run time: Swift's Glibc
/// module does not include `<sys/xattr.h>`. All return -1 and set `errno` on failure, like
/// the C functions (ENOTSUP if libc lacks them, which no Linux libc does).
enum ExtendedAttributes {
    private typealias FSet = @convention(c) (CInt, UnsafePointer<CChar>, UnsafeRawPointer?, Int, CInt) -> CInt
    private typealias LSet =
        @convention(c) (
            UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, CInt
        ) -> CInt

    nonisolated(unsafe) private static let fsetPointer = lookup("fsetxattr")
    nonisolated(unsafe) private static let lsetPointer = lookup("lsetxattr")

    private static func lookup(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)
    }

    /// Sets `name` on the open file `descriptor`.
    static func set(_ descriptor: CInt, _ name: String, _ value: [UInt8]) -> CInt {
        guard let pointer = fsetPointer else {
            errno = ENOTSUP
            return -1
        }
        let function = unsafeBitCast(pointer, to: FSet.self)
        return value.withUnsafeBytes { function(descriptor, name, $0.baseAddress, $0.count, 0) }
    }

    /// Sets `name` on `path` without following a final symlink.
    static func setNoFollow(_ path: String, _ name: String, _ value: [UInt8]) -> CInt {
        guard let pointer = lsetPointer else {
            errno = ENOTSUP
            return -1
        }
        let function = unsafeBitCast(pointer, to: LSet.self)
        return value.withUnsafeBytes { function(path, name, $0.baseAddress, $0.count, 0) }
    }
}
