import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import SkiffController
import ServiceLifecycle
import Synchronization
import SkiffModel

/// `GET /v1/services/NAME/logs`: the instances' stdout and stderr, each line prefixed with
/// the instance it came from; `follow=true` keeps streaming new lines, as `tail -f` does;
/// `ended=true` starts with the instances that no longer run but whose logs are kept.
struct LogRoutes {
    let controller: Controller
    /// Where the runtime writes an instance's output.
    let logFile: @Sendable (String) -> String

    /// How often a follower looks for new output and new instances.
    static let pollInterval: Duration = .milliseconds(200)

    func register(on group: RouterGroup<APIRequestContext>) {
        let controller = self.controller
        group.get("services/:name/logs") { request, context in
            let name = try serviceName(context)
            func isSet(_ parameter: Substring) -> Bool {
                ["1", "true", "yes"].contains(request.uri.queryParameters[parameter].map(String.init) ?? "")
            }
            let follow = isSet("follow")
            let ended = isSet("ended")
            let tail = request.uri.queryParameters["tail"].flatMap { Int(String($0)) }
            if let tail, tail < 0 { throw APIError.invalid("tail must be 0 or more") }
            // Fail with 404 before the stream starts when the service does not exist.
            _ = try await call { () throws(ControllerError) in
                _ = try await controller.service(name)
                return Response(status: .ok)
            }
            let logFile = self.logFile
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody { writer in
                    // A follower ends when its client goes away or the server shuts down;
                    // otherwise an idle follow would hold graceful shutdown open forever.
                    do {
                        try await request.body.consumeWithCancellationOnInboundClose { _ in
                            let stopping = StopFlag()
                            try await withGracefulShutdownHandler {
                                var followers: [String: LogFollower] = [:]
                                // Ended instances first, the longest gone first; then the running ones.
                                var order: [String] = []
                                var first = true
                                while true {
                                    var ids = (try? await controller.instances(of: name).map(\.id)) ?? []
                                    if first, ended { ids = ((try? await controller.endedInstances(of: name)) ?? []) + ids }
                                    for id in ids where followers[id] == nil {
                                        followers[id] = LogFollower(path: logFile(id), prefix: "\(id) | ", tail: first ? tail : nil)
                                        order.append(id)
                                    }
                                    first = false
                                    for id in order {
                                        guard let follower = followers[id] else { continue }
                                        let (chunk, advanced) = try await NIOThreadPool.singleton.runIfActive {
                                            var copy = follower
                                            return (copy.readNewLines(), copy)
                                        }
                                        followers[id] = advanced
                                        if !chunk.isEmpty { try await writer.write(ByteBuffer(string: chunk)) }
                                    }
                                    guard follow, !Task.isCancelled, !stopping.isSet else { break }
                                    try await Task.sleep(for: Self.pollInterval)
                                }
                            } onGracefulShutdown: {
                                stopping.set()
                            }
                        }
                    } catch is CancellationError {
                        // The client left or the server is stopping: end the body cleanly.
                    }
                    try await writer.finish(nil)
                })
        }
    }
}

/// Set once, from the shutdown path, read by a follower between polls.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

/// Reads complete lines appended to one log file since the last read.
struct LogFollower: Sendable {
    let path: String
    let prefix: String
    var offset: UInt64?
    var tail: Int?
    var partial = ""

    init(path: String, prefix: String, tail: Int?) {
        self.path = path
        self.prefix = prefix
        self.tail = tail
    }

    mutating func readNewLines() -> String {
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
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { prefix + $0 + "\n" }.joined()
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
