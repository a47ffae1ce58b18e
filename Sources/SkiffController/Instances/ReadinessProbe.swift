public import NIOCore
public import NIOPosix

/// The default startup probe: the instance is ready once a TCP connect to its port succeeds.
public struct TCPReadinessProbe: Sendable {
    /// Knative's default: probe aggressively so a new instance takes traffic as soon as it can.
    public static let interval: Duration = .milliseconds(50)
    /// Knative's default startup budget.
    public static let budget: Duration = .seconds(240)

    let group: any EventLoopGroup

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.group = group
    }

    /// One attempt: true when the port accepts a connection within `timeout`.
    public func check(host: String, port: Int, timeout: Duration = .milliseconds(500)) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(
                    .milliseconds(
                        Int64(
                            timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
                )
                .connect(host: host, port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
