import Foundation
import Testing

@testable import SkiffServer

/// Taking the gateway's listening socket over from a running server, with a real second
/// process holding a real socket.
@Suite struct ListenerHandoverTests {
    /// A process that listens on a loopback port and prints the port and the descriptor.
    final class Listener {
        let process = Process()
        let port: Int
        let descriptor: Int32

        init() throws {
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [
                "-c",
                "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); print('%d %d' % (s.getsockname()[1], s.fileno()), flush=True); time.sleep(60)",
            ]
            process.standardOutput = output
            try process.run()
            var bytes = Data()
            while !bytes.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                bytes.append(chunk)
            }
            let line = String(decoding: bytes, as: UTF8.self)
            let fields = line.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard fields.count == 2, let port = Int(fields[0]), let descriptor = Int32(fields[1]) else {
                process.terminate()
                throw ServerError("the listener printed \(line.debugDescription)")
            }
            self.port = port
            self.descriptor = descriptor
        }

        deinit { process.terminate() }
    }

    static func handover() -> ListenerHandover {
        ListenerHandover(path: NSTemporaryDirectory() + "skiff-handover-\(UUID().uuidString)")
    }

    /// Writes what a running server on 127.0.0.1:`port` would record.
    static func record(_ handover: ListenerHandover, pid: Int32, descriptor: Int32, port: Int) throws {
        let record = ListenerHandover.Record(pid: pid, descriptor: descriptor, host: "127.0.0.1", port: port)
        try JSONEncoder().encode(record).write(to: URL(fileURLWithPath: handover.path))
    }

    @Test func noRecordMeansNoPredecessor() throws {
        #expect(try Self.handover().takeOver(host: "127.0.0.1", port: 8080) == nil)
    }

    @Test func aRecordOfAProcessThatIsGoneIsIgnored() throws {
        let handover = Self.handover()
        defer { unlink(handover.path) }
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        try Self.record(handover, pid: gone.processIdentifier, descriptor: 3, port: 8080)
        #expect(try handover.takeOver(host: "127.0.0.1", port: 8080) == nil)
    }

    @Test func theListeningSocketOfARunningServerIsTakenOver() throws {
        let listener = try Listener()
        let handover = Self.handover()
        defer { unlink(handover.path) }
        try Self.record(
            handover, pid: listener.process.processIdentifier, descriptor: listener.descriptor, port: listener.port)
        let predecessor = try #require(try handover.takeOver(host: "127.0.0.1", port: listener.port))
        defer { close(predecessor.socket) }
        #expect(predecessor.pid == listener.process.processIdentifier)
        #expect(ListeningSocket.isListening(predecessor.socket, port: listener.port))
    }

    @Test func aServerOnOtherPortsIsAnErrorNotASecondServer() throws {
        let listener = try Listener()
        let handover = Self.handover()
        defer { unlink(handover.path) }
        try Self.record(
            handover, pid: listener.process.processIdentifier, descriptor: listener.descriptor, port: listener.port)
        #expect(throws: ServerError.self) { try handover.takeOver(host: "127.0.0.1", port: listener.port + 1) }
    }

    @Test func aRecycledPidIsNotAServer() throws {
        // The pid runs, but the recorded descriptor is not a listening socket on the port.
        let listener = try Listener()
        let handover = Self.handover()
        defer { unlink(handover.path) }
        try Self.record(handover, pid: listener.process.processIdentifier, descriptor: 0, port: listener.port)
        #expect(try handover.takeOver(host: "127.0.0.1", port: listener.port) == nil)
    }

    @Test func publishingWritesWhatASuccessorReads() throws {
        let handover = Self.handover()
        defer { unlink(handover.path) }
        try handover.publish(descriptor: 7, host: "127.0.0.1", port: 8080)
        #expect(handover.read() == .init(pid: getpid(), descriptor: 7, host: "127.0.0.1", port: 8080))
        handover.withdraw()
        #expect(handover.read() == nil)
    }
}
