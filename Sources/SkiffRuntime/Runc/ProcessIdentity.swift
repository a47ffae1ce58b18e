import Glibc

/// A host process named by pid plus its start time (field 22 of /proc/PID/stat), so a
/// recycled pid is never mistaken for the instance's init.
struct ProcessIdentity: Sendable, Hashable {
    var pid: Int32
    var startTime: UInt64

    /// The state letter and start time of `pid`, nil when there is no such process.
    static func read(pid: Int32) -> (state: Character, startTime: UInt64)? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        // `pid (comm) S ...`: comm may hold spaces and parentheses, so parse after the last ')'.
        guard let close = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
            let startTime = UInt64(String(decoding: fields[19], as: UTF8.self))
        else { return nil }
        return (Character(Unicode.Scalar(state)), startTime)
    }

    /// Identifies the live process `pid`, nil when it is gone.
    static func current(pid: Int32) -> ProcessIdentity? {
        guard let status = read(pid: pid), status.state != "Z", status.state != "X" else { return nil }
        return ProcessIdentity(pid: pid, startTime: status.startTime)
    }

    /// Alive: present, not a zombie, and the same process as when identified.
    var isAlive: Bool {
        guard let status = Self.read(pid: pid) else { return false }
        return status.state != "Z" && status.state != "X" && status.startTime == startTime
    }
}
