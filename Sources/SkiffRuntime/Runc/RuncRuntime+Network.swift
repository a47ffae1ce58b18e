import Logging

extension RuncRuntime {
    /// Removes the firewall chain and the bridge. For server shutdown, after every instance
    /// has stopped; failures are logged, and ``tearDownNetworkOrThrow()`` reports them.
    public func tearDownNetwork() async {
        do {
            try await tearDownNetworkOrThrow()
        } catch {
            logger.error("cannot remove the instance network", metadata: ["error": "\(error)"])
        }
    }

    /// Removes the firewall chain and the bridge, reporting the first failure.
    public func tearDownNetworkOrThrow() async throws(RuntimeError) {
        await firewallGate.reset()
        var firstError: RuntimeError?
        do { try await firewall.remove() } catch { firstError = error }
        do { try await network.deleteBridge() } catch { firstError = firstError ?? error }
        if let firstError { throw firstError }
    }
}
