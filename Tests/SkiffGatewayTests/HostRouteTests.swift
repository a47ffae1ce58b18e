import Testing

@testable import SkiffGateway

@Suite("HostRoute")
struct HostRouteTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var host: String
        var key: String?
        var service: String?
        var tag: String?
        var testDescription: String { self.host }
    }

    @Test(arguments: [
        Case(host: "hello.localhost", key: "hello", service: "hello"),
        Case(host: "hello.localhost:8080", key: "hello", service: "hello"),
        Case(host: "HeLLo.LOCALHOST:8080", key: "hello", service: "hello"),
        Case(host: "hello.localhost.", key: "hello", service: "hello"),
        Case(host: "v2---hello.localhost", key: "v2---hello", service: "hello", tag: "v2"),
        Case(host: "Blue---My-App.localhost:80", key: "blue---my-app", service: "my-app", tag: "blue"),
    ])
    func parsesRoutableHosts(_ testCase: Case) throws {
        let route = try #require(HostRoute(host: testCase.host, domain: "localhost"))
        #expect(route.key == testCase.key)
        #expect(route.service == testCase.service)
        #expect(route.tag == testCase.tag)
    }

    @Test(arguments: [
        "localhost", ".localhost", "localhost:8080", "hello.example.com", "a.b.localhost",
        "hellolocalhost", "---hello.localhost", "v2---.localhost", "[::1]:8080", "127.0.0.1", "",
    ])
    func rejectsHostsOutsideTheDomain(_ host: String) {
        #expect(HostRoute(host: host, domain: "localhost") == nil)
    }

    @Test func matchesMultiLabelDomains() throws {
        let route = try #require(HostRoute(host: "api.apps.example.com:443", domain: "apps.example.com"))
        #expect(route.service == "api")
        #expect(HostRoute(host: "api.example.com", domain: "apps.example.com") == nil)
    }
}
