import Glibc

/// Linux interfaces Glibc's Swift module leaves out (they sit behind `_GNU_SOURCE`).
enum LinuxCalls {
    /// `O_PATH` (asm-generic/fcntl.h; the same on x86-64 and arm64).
    static let oPath: CInt = 0o10_000_000
    /// `CLONE_NEWNET` (linux/sched.h).
    static let cloneNewNet: CInt = 0x4000_0000

    /// unshare(2).
    static func unshare(_ flags: CInt) -> CInt { cUnshare(flags) }
}

@_silgen_name("unshare")
private func cUnshare(_ flags: CInt) -> CInt
