import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1
import Testing

/// `skiff logs --follow` streams lines as the instances write them.
@Suite(.serialized) struct LogsTests {
    @Test(.enabled(if: E2E.enabled)) func followStreamsNewLines() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "chatty", "--image", "hello:v1"])
            let follower = Process()
            follower.executableURL = URL(fileURLWithPath: ServerHarness.binary)
            follower.arguments = ["logs", "chatty", "--follow", "--server", server.apiURL, "--token", server.token]
            let pipe = Pipe()
            follower.standardOutput = pipe
            let output = NIOLockedValueBox("")
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let text = String(decoding: handle.availableData, as: UTF8.self)
                output.withLockedValue { $0 += text }
            }
            try follower.run()
            defer {
                follower.terminate()
                pipe.fileHandleForReading.readabilityHandler = nil
            }
            // The start line is there already; a request made now must show up while following.
            try await eventually("the instance's start line") { output.withLockedValue { $0.contains("hello: serving") } }
            #expect(try await server.gateway("/cgi-bin/hello", host: "chatty.localhost").status == .ok)
            try await eventually("a line written after following began") {
                output.withLockedValue { $0.contains("hello: greeted") }
            }
            #expect(follower.isRunning, "logs --follow ended on its own")
            let lines = output.withLockedValue { $0 }.split(separator: "\n")
            #expect(lines.allSatisfy { $0.hasPrefix("chatty-00001-") })
        }
    }
}
