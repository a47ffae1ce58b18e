import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

/// A network namespace already attached to the bridge (CNI ADD done), waiting for an instance.
struct PreparedNetwork: Sendable {
    /// The namespace's name under /run/netns, which is also its CNI container id.
    var name: String
    var address: String
    /// CNI's result, kept for DEL.
    var result: String
}

/// Keeps a few network namespaces attached to the bridge ahead of time, so that starting an
/// instance skips CNI (two plugin execs, about 18 ms of a cold start here): the network is
/// what the floor of a cold start — `runc run` in a namespace made beforehand — does not pay.
///
/// Run it as a service next to the controller: it fills the pool, refills it whenever an
/// instance takes one, removes what a previous run of the server left, and on shutdown
/// detaches and deletes whatever is still waiting. Without it running, instances attach
/// their own network as before.
public struct NetworkPool: ServiceLifecycle.Service {
    let runtime: RuncRuntime
    let size: Int

    public func run() async throws {
        await runtime.removeLeftoverPoolNetworks()
        await withGracefulShutdownHandler {
            for await _ in runtime.poolRefills {
                await fill()
            }
        } onGracefulShutdown: {
            runtime.poolRefillsContinuation.finish()
        }
        // Also when cancelled: a cancelled CNI DEL would leave the address reserved.
        await Task { await runtime.drainPool() }.value
    }

    private func fill() async {
        while runtime.preparedCount < size, !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                let prepared = try await runtime.prepareNetwork()
                if !runtime.offerPrepared(prepared) {
                    await runtime.releasePrepared(prepared)
                    return
                }
            } catch {
                runtime.logger.warning("cannot prepare a network namespace", metadata: ["error": "\(error)"])
                return
            }
        }
    }
}

extension RuncRuntime {
    /// The pool service for this runtime; `size` namespaces are kept ready.
    public func networkPool(size: Int = 2) -> NetworkPool {
        poolOpen.store(true, ordering: .relaxed)
        poolRefillsContinuation.yield()
        return NetworkPool(runtime: self, size: size)
    }

    var poolPrefix: String { "skiffpool-\(configuration.network.bridgeName)-" }

    var preparedCount: Int { prepared.withLock { $0.count } }

    /// A prepared namespace for a starting instance, if one is waiting. The caller asks for
    /// the refill (``refillPool()``) once its container runs: the plugins would otherwise
    /// compete for the CPU with the start they are meant to speed up.
    func takePrepared() -> PreparedNetwork? {
        prepared.withLock { $0.popLast() }
    }

    func refillPool() {
        poolRefillsContinuation.yield()
    }

    /// Adds a namespace to the pool unless the pool closed meanwhile.
    func offerPrepared(_ network: PreparedNetwork) -> Bool {
        guard poolOpen.load(ordering: .relaxed) else { return false }
        prepared.withLock { $0.append(network) }
        return true
    }

    func prepareNetwork() async throws(RuntimeError) -> PreparedNetwork {
        try await firewallGate.ensure { () async throws(RuntimeError) in try await self.firewall.install() }
        let alphabet = Array("bcdfghjklmnpqrstvwxz0123456789")
        let name = poolPrefix + String((0..<8).map { _ in alphabet.randomElement()! })
        try await NetworkNamespace.create(name)
        do {
            let (address, result) = try await network.attach(containerID: name, netnsPath: NetworkNamespace.path(name))
            return PreparedNetwork(name: name, address: address, result: result)
        } catch {
            await releasePrepared(PreparedNetwork(name: name, address: "", result: ""))
            throw error
        }
    }

    /// CNI DEL and the namespace's removal; failures are logged.
    func releasePrepared(_ network: PreparedNetwork) async {
        do {
            try await self.network.detach(
                containerID: network.name, netnsPath: NetworkNamespace.path(network.name),
                previousResult: network.result.isEmpty ? nil : network.result)
        } catch {
            logger.warning(
                "cannot detach a pooled network namespace", metadata: ["name": "\(network.name)", "error": "\(error)"])
        }
        do {
            try NetworkNamespace.delete(network.name)
        } catch {
            logger.warning(
                "cannot delete a pooled network namespace", metadata: ["name": "\(network.name)", "error": "\(error)"])
        }
    }

    /// Closes the pool and releases what is in it.
    func drainPool() async {
        poolOpen.store(false, ordering: .relaxed)
        let waiting = prepared.withLock { pool in
            defer { pool.removeAll() }
            return pool
        }
        for network in waiting { await releasePrepared(network) }
    }

    /// Namespaces and address reservations of this bridge's pool that a previous server
    /// process left (instances' own are removed with the instances, by their teardown).
    func removeLeftoverPoolNetworks() async {
        let inUse = Set(
            ((try? FileManager.default.contentsOfDirectory(atPath: configuration.instancesDir)) ?? []).compactMap {
                try? String(contentsOfFile: "\(bundlePath(for: $0))/\(Self.networkNameFile)", encoding: .utf8)
            })
        var names = Set(network.reservations(withPrefix: poolPrefix))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: NetworkNamespace.directory)) ?? []
        where name.hasPrefix(poolPrefix) {
            names.insert(name)
        }
        for name in names.subtracting(inUse).sorted() {
            logger.info("removing a pooled network namespace left by a previous run", metadata: ["name": "\(name)"])
            await releasePrepared(PreparedNetwork(name: name, address: "", result: ""))
        }
    }
}
