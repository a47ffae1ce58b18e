import Foundation
import ServiceLifecycle
import Testing

@testable import SkiffRuntime

/// Network namespaces attached ahead of time: an instance starts in one, its teardown
/// removes it, and shutting the pool down leaves nothing.
@Suite struct NetworkPoolTests {
    static func pooled(_ fixture: RuntimeFixture) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [])
            .filter { $0.hasPrefix(fixture.runtime.poolPrefix) }
    }

    static func poll(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw PoolTestFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct PoolTestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func anInstanceStartsInAPreparedNamespaceWhichItsStopRemoves() async throws {
        try await RuntimeFixture.withRuntime { fixture in
            let pool = fixture.runtime.networkPool(size: 2)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pool.run() }
                try await Self.poll("two prepared namespaces") { fixture.runtime.preparedCount == 2 }
                let waiting = Set(Self.pooled(fixture))
                #expect(waiting.count == 2)

                let id = RuntimeFixture.id("pooled")
                let started = try await fixture.runtime.start(fixture.spec(id))
                #expect(await fixture.waitUntilAccepting(started))
                let name = try String(
                    contentsOfFile: fixture.runtime.bundlePath(for: id) + "/network-name", encoding: .utf8)
                #expect(waiting.contains(name), "started in \(name), not one of \(waiting)")
                // The address it was prepared with is the one it serves on.
                #expect(await Host.httpGet(started.address, started.port, "/")?.contains("hello from skiff") == true)
                // The pool refills behind it.
                try await Self.poll("the pool refilled") { fixture.runtime.preparedCount == 2 }

                try await fixture.runtime.stop(instanceID: id, grace: .seconds(1))
                #expect(!Self.pooled(fixture).contains(name))
                #expect(!fixture.runtime.network.holdsAddress(containerID: name))
                let remnants = await fixture.remnants(of: id)
                #expect(remnants.isEmpty, "\(remnants)")
                group.cancelAll()
            }
            // Cancelled (as at shutdown): what was waiting is detached and removed.
            #expect(Self.pooled(fixture).isEmpty, "left: \(Self.pooled(fixture))")
            #expect(fixture.runtime.network.reservations(withPrefix: fixture.runtime.poolPrefix).isEmpty)
        }
    }
}
