import NIOCore

/// The client's address in the forms the forwarding headers need, computed once per connection.
struct ClientAddress {
    /// For `X-Forwarded-For`: the bare IP, or `unknown`.
    let ip: String
    /// For `Forwarded: for=`: the IP as an RFC 7239 node (IPv6 bracketed and quoted).
    let forwardedNode: String

    init(_ address: SocketAddress?) {
        guard let address, let ip = address.ipAddress else {
            self.ip = "unknown"
            self.forwardedNode = "unknown"
            return
        }
        self.ip = ip
        if case .v6 = address {
            self.forwardedNode = "\"[\(ip)]\""
        } else {
            self.forwardedNode = ip
        }
    }
}
