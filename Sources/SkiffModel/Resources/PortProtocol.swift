/// The protocol a container's port speaks, named as Knative names it on `ports[].name`: what
/// the gateway speaks to the service's instances.
///
/// A client may use HTTP/1.1 or HTTP/2 with the gateway whatever this is; it only decides the
/// hop from the gateway to the container.
public enum PortProtocol: String, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// HTTP/1.1 with keep-alive (and upgrades, such as WebSockets); Knative's default.
    case http1
    /// HTTP/2 cleartext with prior knowledge, for gRPC and other HTTP/2-only servers.
    case h2c

    /// The names ``init(parsing:flag:)`` accepts, for messages: `http1 or h2c`.
    public static let allowed = allCases.map(\.rawValue).joined(separator: " or ")

    /// Reads a user's value, such as a flag's; an unknown name is an error naming the allowed
    /// ones and the flag (or field) it was given for.
    public init(parsing text: String, flag: String = "--port-protocol") throws(ModelError) {
        guard let value = PortProtocol(rawValue: text) else {
            throw ModelError(
                .invalidValue, field: "portProtocol",
                "invalid \(flag) \"\(text)\": use \(Self.allowed) (h2c: HTTP/2 cleartext to the container, for gRPC)")
        }
        self = value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try PortProtocol(parsing: text, flag: "port protocol")
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public var description: String { rawValue }
}
