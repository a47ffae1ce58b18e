import ArgumentParser
import SkiffModel
import Testing

@testable import SkiffCLI

/// `skiff deploy` on an existing service keeps what the flags do not change, as gcloud does.
struct DeploySpecTests {
    static func deploy(_ arguments: [String]) throws -> DeployCommand {
        try #require(try SkiffCommand.parseAsRoot(["deploy", "web"] + arguments) as? DeployCommand)
    }

    @Test func rolloutFlagsMakeAPolicy() throws {
        let gradual = try Self.deploy([
            "--rollout", "gradual", "--rollout-step", "25", "--rollout-interval", "10s", "--rollback-on-error-rate",
            "2.5%",
        ])
        #expect(try gradual.options.rollout == RolloutPolicy(step: 25, interval: .seconds(10), maxErrorRate: 2.5))
        #expect(try Self.deploy(["--rollout", "gradual"]).options.rollout == RolloutPolicy())
        #expect(try Self.deploy([]).options.rollout == nil)
        #expect(throws: (any Error).self) { try Self.deploy(["--rollout-step", "20"]) }
        #expect(throws: (any Error).self) { try Self.deploy(["--rollout", "canary"]) }
        #expect(throws: (any Error).self) { try Self.deploy(["--rollout", "gradual", "--rollout-step", "0"]) }
    }

    @Test func probeFlagsAndEmptyCommandRestoreTheImages() throws {
        var deployed = ServiceSpec(image: "hello:v1", command: ["/bin/sh"], args: ["-c", "exit 3"])
        deployed.probes.liveness = Probe(exec: ExecAction(command: ["true"]))
        let spec = try Self.deploy([
            "--command", "", "--args", "", "--readiness-probe", "httpGet.path=/ready,periodSeconds=2",
            "--liveness-probe", "default",
        ]).spec(updating: deployed)
        #expect(spec.command == nil && spec.args == nil)
        #expect(spec.probes.readiness?.httpGet?.path == "/ready" && spec.probes.readiness?.periodSeconds == 2)
        #expect(spec.probes.liveness == nil)
        #expect(throws: (any Error).self) { try Self.deploy(["--startup-probe", "httpGet.path=nope"]) }
    }

    @Test func createStartsFromDefaults() throws {
        let spec = try Self.deploy(["--image", "hello:v1"]).spec(updating: nil)
        #expect(spec == ServiceSpec(image: "hello:v1"))
    }

    @Test func createNeedsAnImage() throws {
        let error = #expect(throws: CLIError.self) { try Self.deploy([]).spec(updating: nil) }
        #expect(error?.message == "--image is required to create service \"web\"")
    }

    @Test func updateKeepsSettingsWhoseFlagsAreNotGiven() throws {
        let spec = try Self.deploy(["--image", "hello:v2"]).spec(updating: Fixtures.spec)
        var expected = Fixtures.spec
        expected.image = "hello:v2"
        #expect(spec == expected)
    }

    @Test func updateWithoutImageKeepsTheImage() throws {
        let spec = try Self.deploy(["--min-instances", "0"]).spec(updating: Fixtures.spec)
        #expect(spec.image == "hello:v1")
        #expect(spec.minInstances == 0)
        #expect(spec.memory == Fixtures.spec.memory)
    }

    @Test func envFlagsReplaceByNameAppendNewAndRemove() throws {
        var current = Fixtures.spec
        current.env = [EnvVar(name: "A", value: "1"), EnvVar(name: "B", value: "2"), EnvVar(name: "C", value: "3")]
        let spec = try Self.deploy(["--env", "B=20", "--env", "D=4", "--remove-env", "A"]).spec(updating: current)
        #expect(
            spec.env == [EnvVar(name: "B", value: "20"), EnvVar(name: "C", value: "3"), EnvVar(name: "D", value: "4")])
    }

    @Test func commandArgsAndLimitsReplace() throws {
        let spec = try Self.deploy([
            "--command", "/bin/sh", "--command", "-c", "--args", "echo hi", "--memory", "1Gi", "--cpu", "2", "--port",
            "9000",
        ])
        .spec(updating: Fixtures.spec)
        #expect(spec.command == ["/bin/sh", "-c"])
        #expect(spec.args == ["echo hi"])
        #expect(spec.memory == MemoryQuantity(bytes: 1 << 30))
        #expect(spec.cpu == CPUQuantity(millis: 2000))
        #expect(spec.port == 9000)
    }
}
