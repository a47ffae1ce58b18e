import SkiffGateway
import SkiffModel
import Testing

@testable import SkiffController

/// A service's port protocol reaches the gateway as its revisions' upstream protocol, and
/// changing it makes a new revision, as changing the port does.
@Suite struct PortProtocolRoutingTests {
    static let web: ServiceName = "web"

    @Test(arguments: [(PortProtocol.http1, UpstreamProtocol.http1), (.h2c, .h2c)])
    func theSpecsPortProtocolIsTheRevisionsUpstreamProtocol(port: PortProtocol, upstream: UpstreamProtocol) {
        let spec = ServiceSpec(image: "hello:v1", portProtocol: port)
        #expect(ServiceRoutes.settings(spec).upstreamProtocol == upstream)
    }

    @Test func aRevisionWithoutASpecIsRoutedOverHTTP1() {
        #expect(ServiceRoutes.settings(nil).upstreamProtocol == .http1)
    }

    @Test func changingThePortProtocolMakesANewRevisionRoutedOverH2C() async throws {
        let fixture = try StoredState()
        defer { fixture.remove() }
        var catalog = ServiceCatalog(domain: "example.test", gatewayPort: 8080)
        catalog[Self.web] = try await fixture.deploy(Self.web, fixture.spec())
        var publication = RoutePublication()
        _ = publication.publish(catalog, instances: [])

        var h2c = fixture.spec()
        h2c.portProtocol = .h2c
        let entry = try await fixture.deploy(Self.web, h2c)
        #expect(entry.revision.name == "web-00002")
        #expect(entry.revision.spec.portProtocol == .h2c)
        catalog[Self.web] = entry
        let changes = publication.publish(catalog, instances: []).flatMap { $0 }
        let settings = changes.compactMap { change -> RevisionSettings? in
            if case .setRevision("web-00002", let settings, _) = change { settings } else { nil }
        }
        #expect(settings.map(\.upstreamProtocol) == [.h2c])

        let again = try await fixture.deploy(Self.web, h2c)
        #expect(again.revision.name == "web-00002", "the same spec makes no revision")
    }

    /// A gRPC server may not answer HTTP/1 at all: an instance with no startup probe of its
    /// own is started once its port accepts a connection, whatever the port speaks.
    @Test func theDefaultStartupProbeIsATCPConnect() {
        #expect(Probe.defaultStartup.action == .tcpSocket(TCPSocketAction()))
    }
}
