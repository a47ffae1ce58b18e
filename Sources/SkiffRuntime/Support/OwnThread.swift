import Foundation

/// Runs `work` on a thread of its own and returns its result.
///
/// For work that blocks (copying a large file) or that changes the calling thread itself
/// (entering a namespace with `unshare`): either would take one of Swift concurrency's few
/// threads from every other task, or leave it changed for the next.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
