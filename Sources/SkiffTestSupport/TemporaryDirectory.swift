public import Foundation

/// A fresh directory of its own under the system's temporary directory, for one test.
///
/// Nothing removes it behind the test's back: call ``remove()`` in a `defer` right after
/// making it, so a test that throws or fails an expectation still cleans up.
///
/// ```swift
/// let directory = try TemporaryDirectory()
/// defer { directory.remove() }
/// let store = try Store(path: directory.path + "/skiff.db")
/// ```
public struct TemporaryDirectory: Sendable {
    /// The directory's absolute path, without a trailing slash.
    public let path: String

    /// Creates `skiff-test-<UUID>` under `NSTemporaryDirectory()`: unique, so tests running
    /// side by side never share one.
    public init() throws {
        path = NSTemporaryDirectory() + "skiff-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A view of a directory inside another temporary directory, for its `write` helpers.
    /// The directory need not exist yet: `write` creates it.
    public init(existing path: String) {
        self.path = path
    }

    /// Deletes the directory and everything in it; a directory already gone is no error.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `contents` as UTF-8 to `relative` (creating the directories on the way) and
    /// returns the file's path.
    @discardableResult
    public func write(_ relative: String, _ contents: String) throws -> String {
        try write(relative, Data(contents.utf8))
    }

    /// Writes `data` to `relative` (creating the directories on the way) and returns the
    /// file's path.
    @discardableResult
    public func write(_ relative: String, _ data: Data) throws -> String {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        return full
    }
}
