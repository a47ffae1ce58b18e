import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `lstat` of a path, nil if it does not exist.
func lstatInfo(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}

func fileType(_ path: String) -> mode_t? {
    lstatInfo(path).map { $0.st_mode & S_IFMT }
}

func readFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

func readLink(_ path: String) -> String? {
    try? FileManager.default.destinationOfSymbolicLink(atPath: path)
}

/// `lgetxattr`, via dlsym (Swift's Glibc module lacks <sys/xattr.h>).
func extendedAttribute(_ path: String, _ name: String) -> [UInt8]? {
    typealias LGet = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "lgetxattr") else { return nil }
    let function = unsafeBitCast(symbol, to: LGet.self)
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { function(path, name, $0.baseAddress, $0.count) }
    return count >= 0 ? Array(buffer.prefix(count)) : nil
}

/// Deterministic pseudo-random bytes (incompressible enough to exercise gzip buffering).
func noise(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var result = [UInt8](repeating: 0, count: count)
    for index in result.indices {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        result[index] = UInt8(truncatingIfNeeded: state >> 33)
    }
    return result
}
