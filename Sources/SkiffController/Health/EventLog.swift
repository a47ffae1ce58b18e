import Foundation
import SkiffModel

/// The recent events of every service, newest last, as `skiff services describe` shows them.
/// Kept in memory, like Kubernetes' events that expire after an hour: they explain what just
/// happened, the store keeps what must survive.
struct EventLog: Sendable {
    /// Per service; the oldest go first.
    static let capacity = 100
    private var events: [ServiceName: [ServiceEvent]] = [:]

    /// Adds `event`, or counts it again when it repeats the service's previous event.
    mutating func record(_ event: ServiceEvent) {
        var list = events[event.service] ?? []
        if var last = list.last, last.reason == event.reason, last.message == event.message,
            last.instance == event.instance, last.revision == event.revision
        {
            last.count += 1
            last.lastAt = event.lastAt
            list[list.count - 1] = last
        } else {
            list.append(event)
            if list.count > Self.capacity { list.removeFirst(list.count - Self.capacity) }
        }
        events[event.service] = list
    }

    func events(of service: ServiceName, revision: String? = nil) -> [ServiceEvent] {
        let list = events[service] ?? []
        guard let revision else { return list }
        return list.filter { $0.revision == revision }
    }

    mutating func forget(_ service: ServiceName) { events[service] = nil }
}

/// The last lines of an instance's log file, for a crash report.
enum LogTail {
    static func read(_ path: String, lines: Int = 10, maxBytes: Int = 16 << 10) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return [] }
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        try? handle.seek(toOffset: start)
        guard let data = try? handle.readToEnd() else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var all = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        // A window that starts mid-line drops that partial line.
        if start > 0, !all.isEmpty { all.removeFirst() }
        return Array(all.suffix(lines)).map { String($0.prefix(500)) }
    }
}
