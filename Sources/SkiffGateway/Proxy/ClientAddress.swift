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

/// What the requests of one client connection share, HTTP/1 requests and HTTP/2 streams
/// alike: the client's address and the routing of the host it used last (clients reuse one
/// host per connection), so that a connection's requests after its first parse neither.
///
/// Touched only on the connection's event loop.
final class ClientConnection {
    var address = ClientAddress(nil)
    private var hasAddress = false
    var lastHost: String?
    var lastHostRoute: HostRoute?
    var lastForwardedElement: String?

    /// Takes the client's address from a channel of this connection, once it has one.
    func noteAddress(of channel: any Channel) {
        guard !self.hasAddress, let remote = channel.remoteAddress else { return }
        self.address = ClientAddress(remote)
        self.hasAddress = true
    }
}
