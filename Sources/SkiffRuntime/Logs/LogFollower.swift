import Foundation

/// Reads the complete lines appended to one instance's log file since the last read, as
/// `tail -f` does, across the rotations ``InstanceLogs`` makes (copy to `ID.log.1`, then
/// truncate `ID.log`).
///
/// Reads block on the file: call ``readNewLines()`` off the cooperative pool, as
/// ``InstanceLogStream`` does.
public struct LogFollower: Sendable {
    /// The log file, `ID.log`; its rotated copy is `ID.log.1` beside it.
    public let path: String
    /// Put before every line, e.g. `web-1 | `.
    public let prefix: String
    var offset: UInt64?
    var tail: Int?
    var partial = ""

    /// - Parameter tail: the first read returns only the last `tail` lines already written
    ///   (nil: all of them).
    public init(path: String, prefix: String, tail: Int?) {
        self.path = path
        self.prefix = prefix
        self.tail = tail
    }

    /// The complete lines written since the last call, each with the prefix; a line still
    /// being written waits for its newline. Empty when the file does not exist (yet).
    public mutating func readNewLines() -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        let end = (try? handle.seekToEnd()) ?? 0
        var start = offset ?? 0
        if start > end { start = 0 }  // truncated or rotated
        if offset == nil, let tail {
            // Only the last `tail` lines of what is there already, continued from the rotated
            // file (`ID.log.1`) when the log was rotated since.
            var lines = Self.lastLines(of: handle, end: end)
            if lines.count < tail, let rotated = FileHandle(forReadingAtPath: path + ".1") {
                defer { try? rotated.close() }
                lines = Self.lastLines(of: rotated, end: (try? rotated.seekToEnd()) ?? 0) + lines
            }
            offset = end
            self.tail = nil
            return lines.suffix(tail).map { prefix + $0 + "\n" }.joined()
        }
        try? handle.seek(toOffset: start)
        let data = (try? handle.readToEnd()) ?? Data()
        offset = start + UInt64(data.count)
        var text = partial + String(decoding: data, as: UTF8.self)
        partial = ""
        if !text.hasSuffix("\n"), let lastNewline = text.lastIndex(of: "\n") {
            partial = String(text[text.index(after: lastNewline)...])
            text = String(text[...lastNewline])
        } else if !text.hasSuffix("\n") {
            partial = text
            return ""
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { prefix + $0 + "\n" }
            .joined()
    }

    /// The lines of the last MiB before `end`.
    private static func lastLines(of handle: FileHandle, end: UInt64) -> [String] {
        try? handle.seek(toOffset: end > 1 << 20 ? end - (1 << 20) : 0)
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
