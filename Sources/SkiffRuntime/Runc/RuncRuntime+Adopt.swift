import Foundation

extension RuncRuntime {
    /// Takes back an instance a previous server process left running: its init process must
    /// be alive and in the instance's cgroup, and its address is the one CNI gave it (the
    /// bundle's `network.json`). A frozen instance is thawed, since the new process knows
    /// nothing of its idleness. Nothing is changed when the instance cannot be verified.
    public func adopt(instanceID: String, port: Int) async throws(RuntimeError) -> StartedInstance {
        try Self.validate(instanceID: instanceID)
        guard let process = initProcess(of: instanceID) else {
            throw RuntimeError(.notFound, "instance \(instanceID) has no running init process")
        }
        let bundle = bundlePath(for: instanceID)
        let result: CNIResult
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(bundle)/network.json"))
            result = try JSONDecoder().decode(CNIResult.self, from: data)
        } catch {
            throw RuntimeError(.network, "instance \(instanceID) has no readable network attachment", cause: error)
        }
        guard let address = result.ipv4Address else {
            throw RuntimeError(.network, "instance \(instanceID)'s network attachment has no IPv4 address")
        }
        writeFreezerState(instanceID, "THAWED")
        return StartedInstance(
            id: instanceID, address: address, port: port, pid: process.pid, logPath: logPath(for: instanceID))
    }
}
