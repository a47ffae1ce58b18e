import ArgumentParser
import Foundation
import SkiffServer
import Testing

@testable import SkiffCLI

/// Arguments are parsed and validated before any request: these run without a server.
struct ParsingTests {
    /// The one line `skiff` would print for what `arguments` throw while parsing.
    static func rejection(_ arguments: [String]) -> String? {
        do {
            _ = try SkiffCommand.parseAsRoot(arguments)
            return nil
        } catch {
            let (text, status) = SkiffCommand.report(for: error)
            return status == 0 ? nil : text
        }
    }

    @Test(
        arguments: [
            (["deploy", "Not_A_Label", "--image", "hello:v1"], "error: invalid service name \"Not_A_Label\""),
            (["deploy", "web", "--image", "hello:v1", "--memory", "lots"], "error: invalid memory \"lots\""),
            (["deploy", "web", "--image", "hello:v1", "--memory", "1Ki"], "must be at least 4Mi"),
            (["deploy", "web", "--image", "hello:v1", "--cpu", "fast"], "error: invalid cpu \"fast\""),
            (["deploy", "web", "--image", "hello:v1", "--port", "70000"], "invalid port 70000"),
            (["deploy", "web", "--image", "hello:v1", "--port", "0"], "invalid port 0"),
            (["deploy", "web", "--image", "hello:v1", "--env", "NOEQUALS"], "NAME=VALUE"),
            (["deploy", "web", "--image", "hello:v1", "--env", "1X=y"], "invalid env name"),
            (["deploy", "web", "--image", "hello:v1", "--env", "PORT=1"], "reserved"),
            (["deploy", "web", "--image", "hello:v1", "--min-instances=-1"], "invalid min-instances -1"),
            (["deploy", "web", "--image", "hello:v1", "--wait-timeout", "soon"], "invalid duration \"soon\""),
            (["deploy", "web", "--image", "hello:v1", "--wait-timeout", "0s"], "must be more than 0"),
            (["deploy", "web", "--image", "hello:v1", "--timeout", "2h"], "invalid timeout 2h: must be at most 1h"),
            (["deploy", "web", "--image", "hello:v1", "--concurrency", "1001"], "invalid concurrency 1001"),
            (["deploy", "web", "--image", "hello:v1", "--target-utilization", "0"], "invalid target-utilization 0"),
            (
                ["deploy", "web", "--image", "hello:v1", "--min-instances", "3", "--max-instances", "2"],
                "min-instances 3 is more than max-instances 2"
            ),
            (
                ["deploy", "web", "--image", "hello:v1", "--window", "1s"],
                "invalid window 1s: must be between 6s and 1h"
            ),
            (
                ["deploy", "web", "--image", "hello:v1", "--panic-threshold-percentage", "100"],
                "invalid panic-threshold-percentage"
            ),
            (["deploy", "web", "--image", "hello:v1", "--scale-to-zero-grace", "soon"], "invalid duration \"soon\""),
            (["services", "update", "web", "--max-instances=-1"], "invalid max-instances -1"),
            (["deploy", "web", "--image", "has space"], "invalid --image"),
            (["deploy", "web", "--image", "hello:v1", "--output", "xml"], "xml"),
            (["deploy", "web", "--image", "hello:v1", "--server", "ftp://x"], "invalid server URL"),
            (["deploy", "web", "--image", "hello:v1", "--server", "localhost:7070"], "invalid server URL"),
            (["deploy", "--image", "hello:v1"], "<name>"),
            (["services", "describe", "UPPER"], "invalid service name"),
            (["services", "delete", "a--b"], "invalid service name"),
            (["instances", "-bad"], "error:"),
            (["logs", "web", "--tail=-1"], "invalid --tail -1"),
            (["logs", "web", "--output", "json"], "--output does not apply"),
            (["images", "load", "/nonexistent/no-such-layout"], "no-such-layout"),
            (["images", "load", "/tmp", "--tag", "bad tag"], "invalid --tag"),
            (["server", "--http", "8080"], "invalid --http \"8080\""),
            (["server", "--api", "127.0.0.1:99999"], "port must be 1-65535"),
            (["server", "--http", "::1:80"], "brackets"),
            (["server", "--http", "127.0.0.1:7070"], "must not be the same address"),
            (["server", "--subnet", "10.88.0.0"], "invalid --subnet"),
            (["server", "--bridge", "a-very-long-bridge-name"], "invalid --bridge"),
            (["server", "--log-level", "loud"], "invalid --log-level \"loud\""),
            (["server", "--gateway-threads", "0"], "invalid --gateway-threads 0"),
            (["server", "--instance-log-size", "1Ki"], "invalid --instance-log-size \"1Ki\""),
            (["server", "--instance-log-size", "big"], "invalid --instance-log-size"),
            (["server", "--instance-log-retention", "forever"], "invalid --instance-log-retention \"forever\""),
            (["server", "--domain", "bad_domain"], "invalid --domain"),
            (["images", "delete", "team/app"], "expected NAME:TAG or NAME@sha256"),
            (["images", "delete", "localhost:7070/team/app:v1"], "expected NAME:TAG"),
            (["images", "delete", "Team/App:v1"], "invalid image reference"),
            (["push", "/tmp", "team/app:v2"], "expected HOST:PORT/NAME:TAG"),
            (["push", "/nonexistent/layout", "localhost:7070/team/app:v2"], "no such file or directory"),
            (["nosuchcommand"], "error:"),
        ] as [([String], String)])
    func rejectsInvalidArgumentsWithOneLine(_ arguments: [String], _ expected: String) throws {
        let text = try #require(Self.rejection(arguments), "skiff \(arguments) was accepted")
        #expect(text.hasPrefix("error: "))
        #expect(text.contains(expected), "skiff \(arguments): \(text)")
        #expect(!text.contains("\n"))
    }

    @Test func parsesDeployWithEveryFlag() throws {
        let parsed = try SkiffCommand.parseAsRoot([
            "deploy", "web", "--image", "hello:v1", "--port", "9000", "--env", "A=1", "--env", "B=x=y", "--command",
            "/bin/httpd", "--args", "-f", "--args", "-p", "--memory", "256Mi", "--cpu", "500m", "--min-instances", "3",
            "--no-wait", "--wait-timeout", "30s", "--timeout", "20s", "--concurrency", "4", "--window", "10s", "-o",
            "json", "--server", "http://127.0.0.1:7071", "--token", "skf_x",
        ])
        let deploy = try #require(parsed as? DeployCommand)
        #expect(deploy.name == "web")
        #expect(deploy.image == "hello:v1")
        #expect(deploy.port == 9000)
        #expect(deploy.env == ["A=1", "B=x=y"])
        #expect(deploy.command == ["/bin/httpd"])
        #expect(deploy.args == ["-f", "-p"])
        #expect(deploy.memory == "256Mi")
        #expect(deploy.cpu == "500m")
        #expect(deploy.scaling.minInstances == 3)
        #expect(deploy.scaling.concurrency == 4)
        #expect(deploy.scaling.window == "10s")
        #expect(deploy.scaling.requestTimeout == "20s")
        #expect(deploy.noWait)
        #expect(deploy.waitTimeout == "30s")
        #expect(deploy.global.output == .json)
        #expect(deploy.global.server == "http://127.0.0.1:7071")
        #expect(deploy.global.token == "skf_x")
    }

    @Test func deployLeavesUnsetFlagsUnset() throws {
        let deploy = try #require(try SkiffCommand.parseAsRoot(["deploy", "web"]) as? DeployCommand)
        #expect(deploy.image == nil && deploy.port == nil && deploy.memory == nil && deploy.scaling.minInstances == nil)
        #expect(!deploy.noWait)
        #expect(deploy.waitTimeout == "5m")
        #expect(deploy.global.output == .table)
    }

    @Test func parsesServicesSubcommandsAndAliases() throws {
        #expect(try SkiffCommand.parseAsRoot(["services", "list"]) is ServicesListCommand)
        #expect(try SkiffCommand.parseAsRoot(["services", "ls", "-o", "yaml"]) is ServicesListCommand)
        let describe = try #require(
            try SkiffCommand.parseAsRoot(["services", "describe", "web"]) as? ServicesDescribeCommand)
        #expect(describe.name == "web")
        let delete = try #require(
            try SkiffCommand.parseAsRoot(["services", "delete", "web"]) as? ServicesDeleteCommand)
        #expect(delete.name == "web")
    }

    @Test func parsesInstancesLogsImagesAndVersion() throws {
        let instances = try #require(
            try SkiffCommand.parseAsRoot(["instances", "web", "--output", "json"]) as? InstancesCommand)
        #expect(instances.name == "web" && instances.global.output == .json)
        let all = try #require(try SkiffCommand.parseAsRoot(["instances"]) as? InstancesCommand)
        #expect(all.name == nil)
        let logs = try #require(
            try SkiffCommand.parseAsRoot(["logs", "web", "--follow", "--tail", "10"]) as? LogsCommand)
        #expect(logs.follow && logs.tail == 10)
        #expect(try SkiffCommand.parseAsRoot(["images", "list"]) is ImagesListCommand)
        let load = try #require(
            try SkiffCommand.parseAsRoot(["images", "load", "/tmp:v1", "--tag", "hello:v1"]) as? ImagesLoadCommand)
        #expect(load.source == "/tmp:v1" && load.tag == "hello:v1")
        #expect(try SkiffCommand.parseAsRoot(["version"]) is VersionCommand)
    }

    @Test func loginNeedsAToken() throws {
        if ProcessInfo.processInfo.environment["SKIFF_TOKEN"] == nil {
            #expect(
                Self.rejection(["login", "--server", "http://127.0.0.1:7070"])?.contains("missing --token") == true)
        }
        let login = try #require(
            try SkiffCommand.parseAsRoot(["login", "--server", "http://10.0.0.5:7070", "--token", "skf_abc"])
                as? LoginCommand)
        #expect(login.global.token == "skf_abc")
    }

    @Test func serverFlagsBecomeTheServerConfiguration() throws {
        let server = try #require(
            try SkiffCommand.parseAsRoot([
                "server", "--data-dir", "/srv/skiff", "--http", "0.0.0.0:80", "--api", "[::1]:7071", "--domain",
                "Apps.Example.com",
                "--runtime", "crun", "--bridge", "skt1", "--subnet", "10.200.1.0/24", "--log-level", "debug",
                "--gateway-threads", "3", "--instance-log-size", "64Mi", "--instance-log-retention", "2h",
            ]) as? ServerCommand)
        let configuration = try server.serverConfiguration(environment: [:])
        #expect(configuration.dataDir == "/srv/skiff")
        #expect(configuration.httpHost == "0.0.0.0" && configuration.httpPort == 80)
        #expect(configuration.apiHost == "::1" && configuration.apiPort == 7071)
        #expect(configuration.domain == "apps.example.com")
        #expect(configuration.runtimeBinary == "crun")
        #expect(configuration.bridgeName == "skt1")
        #expect(configuration.subnet == "10.200.1.0/24")
        #expect(configuration.logLevel == "debug")
        #expect(configuration.gatewayThreads == 3)
        #expect(configuration.instanceLogMaxBytes == 64 << 20)
        #expect(configuration.instanceLogRetention == .seconds(7200))
    }

    @Test func serverDataDirFallsBackToTheEnvironmentThenTheDefault() throws {
        let server = try #require(try SkiffCommand.parseAsRoot(["server"]) as? ServerCommand)
        #expect(try server.serverConfiguration(environment: ["SKIFF_DATA_DIR": "/data"]).dataDir == "/data")
        let defaults = try server.serverConfiguration(environment: [:])
        #expect(defaults.dataDir == "/var/lib/skiff")
        #expect(defaults.apiPort == 7070 && defaults.httpPort == 8080)
        #expect(defaults.instanceLogMaxBytes == 10 << 20 && defaults.instanceLogRetention == .seconds(24 * 3600))
    }

    @Test(arguments: [
        ["--help"], ["deploy", "--help"], ["services", "--help"], ["services", "list", "--help"],
        ["services", "describe", "--help"], ["services", "delete", "--help"], ["instances", "--help"],
        ["logs", "--help"],
        ["images", "--help"], ["images", "load", "--help"], ["images", "list", "--help"], ["login", "--help"],
        ["server", "--help"], ["version", "--help"],
    ])
    func everyHelpHasAnAbstractAndAnExample(_ arguments: [String]) throws {
        // `--help` parses to a help command whose run() throws the help request.
        let error = #expect(throws: (any Error).self) {
            var command = try SkiffCommand.parseAsRoot(arguments)
            try command.run()
        }
        let (text, status) = SkiffCommand.report(for: try #require(error))
        #expect(status == 0)
        #expect(text.hasPrefix("OVERVIEW: "))
        #expect(text.contains("\n  skiff "), "no example in \(arguments): \(text)")
    }
}
