import ArgumentParser
import SkiffModel
import Testing

@testable import SkiffCLI

/// `--port-protocol` on `deploy` and `services update`, and how `describe` shows it.
struct PortProtocolFlagTests {
    static func command(_ arguments: [String]) throws -> DeployCommand {
        let parsed = try SkiffCommand.parseAsRoot(arguments)
        if let update = parsed as? ServicesUpdateCommand { return update.deploy }
        return try #require(parsed as? DeployCommand)
    }

    @Test func deployCreatesAnH2CService() throws {
        let deploy = try Self.command(["deploy", "ping", "--image", "grpc-ping:v1", "--port-protocol", "h2c"])
        #expect(try deploy.spec(updating: nil) == ServiceSpec(image: "grpc-ping:v1", portProtocol: .h2c))
    }

    @Test func updateChangesTheProtocolAndKeepsItWhenNotGiven() throws {
        var deployed = Fixtures.spec
        deployed.portProtocol = .h2c
        let back = try Self.command(["services", "update", "web", "--port-protocol", "http1"])
        #expect(try back.spec(updating: deployed).portProtocol == .http1)
        let kept = try Self.command(["services", "update", "web", "--max-instances", "3"])
        #expect(try kept.spec(updating: deployed).portProtocol == .h2c)
        let to = try Self.command(["services", "update", "web", "--port-protocol", "h2c"])
        #expect(try to.spec(updating: Fixtures.spec).portProtocol == .h2c)
    }

    @Test(arguments: [
        ["deploy", "web", "--image", "hello:v1", "--port-protocol", "http2"],
        ["services", "update", "web", "--port-protocol", "grpc"],
    ])
    func aBadValueNamesTheAllowedOnes(_ arguments: [String]) throws {
        let text = try #require(ParsingTests.rejection(arguments), "skiff \(arguments) was accepted")
        let value = try #require(arguments.last)
        #expect(text.hasPrefix("error: invalid --port-protocol \"\(value)\": use http1 or h2c"), "\(text)")
    }

    @Test func helpTeachesWhatH2CIsFor() {
        for command in [DeployCommand.self, ServicesUpdateCommand.self] as [any ParsableCommand.Type] {
            let help = SkiffCommand.helpMessage(for: command, columns: 400)
            #expect(help.contains("--port-protocol <http1|h2c>"), "\(help)")
            #expect(help.contains("h2c: HTTP/2 cleartext to the container (gRPC); Knative's ports[0].name: h2c"))
        }
    }

    @Test func describeShowsThePortProtocol() throws {
        var service = Fixtures.service
        #expect(Tables.describe(service, instances: []).contains("Port:      8080 (http1)\n"))
        service.spec.portProtocol = .h2c
        #expect(Tables.describe(service, instances: []).contains("Port:      8080 (h2c)\n"))
        let json = try #require(try OutputFormat.json.encode(service))
        #expect(json.contains(#""portProtocol" : "h2c""#), "\(json)")
        let yaml = try #require(try OutputFormat.yaml.encode(service))
        #expect(yaml.contains("portProtocol: h2c"), "\(yaml)")
    }
}
