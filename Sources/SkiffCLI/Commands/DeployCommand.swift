import ArgumentParser
import Foundation
import SkiffModel

/// `skiff deploy`: creates a service or updates it to a new revision, then waits until it
/// serves.
///
/// Like `gcloud run deploy`, one command creates and updates, and an update keeps every
/// setting whose flag is not given: the spec starts from the deployed one.
struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Create or update a service from an image and wait until it is ready.",
        discussion: """
            NAME becomes the host NAME.DOMAIN. On update, settings whose flags are not given keep \
            their deployed values; --env adds or replaces variables, --remove-env drops them. \
            The command waits until the new revision is ready (its --initial-instances \
            instances accept connections), an instance fails, or --wait-timeout passes.

            A service scales with its traffic: from zero to as many instances as its requests \
            need (--target in flight per instance, --concurrency at most) and back to zero \
            --scale-to-zero-grace after the last request. Idle instances are frozen first, so \
            the next request thaws one in a millisecond instead of starting it.

              skiff deploy web --image hello:v1 --env GREETING=hi --memory 128Mi --cpu 0.5
              skiff deploy web --image hello:v2                # keeps env, memory and cpu
              skiff deploy web --command /bin/httpd --args -f --args -p --args 8080
              skiff deploy web --concurrency 1 --max-instances 10 --timeout 30s
              skiff deploy ping --image grpc-ping:v1 --port-protocol h2c   # a gRPC server

            Each deploy that changes something makes a revision. The latest ready revision \
            gets all traffic unless --no-traffic keeps it where it is; --tag gives the new \
            revision its own URL, TAG---NAME.DOMAIN, to try it before it takes traffic:

              skiff deploy web --image hello:v3 --no-traffic --tag canary
              skiff traffic web --to web-00003=10 --to web-00002=90

            --rollout gradual moves the traffic in steps once the new revision is ready (a split \
            in place shrinks evenly), and sends it back to where it was if the new one answers \
            more 5xx than --rollback-on-error-rate or an instance of it fails a probe:

              skiff deploy web --image hello:v4 --rollout gradual --rollout-step 20 --rollout-interval 1m
            """
    )

    @Argument(help: "The service name: lowercase letters, digits and '-', starting with a letter.")
    var name: String

    @Option(
        help: ArgumentHelp(
            "The image: NAME:TAG as loaded, NAME@sha256:…, or sha256:… (required to create).", valueName: "ref"))
    var image: String?

    @Option(
        help: ArgumentHelp("The port the container listens on, passed as $PORT (default: 8080).", valueName: "port"))
    var port: Int?

    @Option(
        help: ArgumentHelp(
            "What the port speaks: http1 (default) or h2c. h2c: HTTP/2 cleartext to the container (gRPC); Knative's ports[0].name: h2c.",
            valueName: "http1|h2c"))
    var portProtocol: String?

    @Option(help: ArgumentHelp("Set an environment variable; repeat for more.", valueName: "name=value"))
    var env: [String] = []

    @Option(
        help: ArgumentHelp(
            "Remove an environment variable of the deployed service; repeat for more.", valueName: "name"))
    var removeEnv: [String] = []

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Replace the image's entrypoint; repeat for each word; \"\" restores the image's.", valueName: "word"))
    var command: [String] = []

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "Replace the image's arguments; repeat for each (values may start with '-'); \"\" restores the image's.",
            valueName: "arg"))
    var args: [String] = []

    @Option(help: ArgumentHelp("Memory limit per instance, e.g. 128Mi, 1Gi.", valueName: "quantity"))
    var memory: String?

    @Option(help: ArgumentHelp("CPU limit per instance in cores or millicores, e.g. 0.5, 500m.", valueName: "quantity"))
    var cpu: String?

    @OptionGroup(title: "Scaling and timeouts")
    var scaling: ScalingOptions

    @Option(
        help: ArgumentHelp(
            "Startup probe, in gcloud's syntax, e.g. httpGet.path=/healthz,failureThreshold=30 (default: TCP on $PORT, 240s).",
            valueName: "spec"))
    var startupProbe: String?

    @Option(
        help: ArgumentHelp(
            "Readiness probe: failing instances leave the balancer, e.g. httpGet.path=/ready,periodSeconds=2.",
            valueName: "spec"))
    var readinessProbe: String?

    @Option(
        help: ArgumentHelp(
            "Liveness probe: failing instances restart, e.g. exec.command=cat /tmp/alive,failureThreshold=3.",
            valueName: "spec"))
    var livenessProbe: String?

    @Option(
        help: ArgumentHelp(
            "immediate: the new revision takes all traffic once ready; gradual: in steps, rolled back on errors.",
            valueName: "immediate|gradual"))
    var rollout = "immediate"

    @Option(help: ArgumentHelp("Percent of traffic each gradual step moves (default: 10).", valueName: "percent"))
    var rolloutStep: Int?

    @Option(help: ArgumentHelp("Time between gradual steps, e.g. 30s (default), 2m.", valueName: "duration"))
    var rolloutInterval: String?

    @Option(
        help: ArgumentHelp(
            "Roll back when more than this share of the new revision's answers are 5xx (default: 5%).",
            valueName: "percent"))
    var rollbackOnErrorRate: String?

    @Flag(help: "Keep the traffic on the revisions serving now; the new revision gets none until 'skiff traffic'.")
    var noTraffic = false

    @Option(
        help: ArgumentHelp(
            "Give the new revision its own URL, TAG---NAME.DOMAIN, whatever its traffic.", valueName: "tag"))
    var tag: String?

    @Option(help: ArgumentHelp("Name the new revision NAME-SUFFIX instead of NAME-0000N.", valueName: "suffix"))
    var revisionSuffix: String?

    @Flag(help: "Return after the server accepted the deploy, without waiting for instances.")
    var noWait = false

    @Option(
        help: ArgumentHelp(
            "How long to wait for the new revision to become ready, e.g. 30s, 5m.", valueName: "duration"))
    var waitTimeout = "5m"

    @OptionGroup var global: GlobalOptions

    /// How often readiness is polled.
    static let pollInterval: Duration = .milliseconds(100)

    func validate() throws {
        do throws(ModelError) {
            _ = try ServiceName(name)
            if let image, image.isEmpty || image.contains(where: \.isWhitespace) {
                throw ModelError(.invalidValue, field: "image", "invalid --image \"\(image)\": expected e.g. hello:v1")
            }
            if let port, !(1...65535).contains(port) {
                throw ModelError(.invalidValue, field: "port", "invalid port \(port): must be between 1 and 65535")
            }
            if let portProtocol { _ = try PortProtocol(parsing: portProtocol) }
            for text in env { _ = try EnvVar(parsing: text) }
            for variable in removeEnv { try EnvVar(name: variable, value: "").validate() }
            if let memory { _ = try MemoryQuantity(memory) }
            if let cpu { _ = try CPUQuantity(cpu) }
            try scaling.validateAlone()
            try options.validate(service: try ServiceName(name))
            _ = try probes(updating: Probes())
            if command != [""], command.contains(where: \.isEmpty) {
                throw ModelError(.invalidValue, field: "command", "invalid --command: a word must not be empty")
            }
            guard try DurationText.parse(waitTimeout, field: "wait-timeout") > .zero else {
                throw ModelError(
                    .invalidDuration, field: "wait-timeout",
                    "invalid --wait-timeout \(waitTimeout): must be more than 0")
            }
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// The deployed probes with the given flags applied.
    func probes(updating current: Probes) throws(ModelError) -> Probes {
        var probes = current
        for (kind, text) in [
            (Probe.Kind.startup, startupProbe), (.readiness, readinessProbe), (.liveness, livenessProbe),
        ] {
            guard let text else { continue }
            probes[kind] = text == "default" ? nil : try Probe(parsing: text, kind: kind)
        }
        return probes
    }

    /// The gradual rollout the flags ask for, or nil for an immediate one.
    func rolloutPolicy() throws(ModelError) -> RolloutPolicy? {
        switch rollout {
        case "immediate":
            guard rolloutStep == nil, rolloutInterval == nil, rollbackOnErrorRate == nil else {
                throw ModelError(
                    .invalidValue, field: "rollout",
                    "--rollout-step, --rollout-interval and --rollback-on-error-rate need --rollout gradual")
            }
            return nil
        case "gradual":
            var policy = RolloutPolicy()
            if let rolloutStep { policy.step = rolloutStep }
            if let rolloutInterval {
                policy.interval = TimeSpan(try DurationText.parse(rolloutInterval, field: "rollout-interval"))
            }
            if let rollbackOnErrorRate {
                let digits =
                    rollbackOnErrorRate.hasSuffix("%") ? String(rollbackOnErrorRate.dropLast()) : rollbackOnErrorRate
                guard let rate = Double(digits) else {
                    throw ModelError(
                        .invalidValue, field: "rollbackOnErrorRate",
                        "invalid --rollback-on-error-rate \(rollbackOnErrorRate): expected a percentage, e.g. 5%")
                }
                policy.maxErrorRate = rate
            }
            return policy
        default:
            throw ModelError(.invalidValue, field: "rollout", "invalid --rollout \(rollout): use immediate or gradual")
        }
    }

    /// What to do with the traffic and how to name the revision.
    var options: DeployOptions {
        get throws(ModelError) {
            DeployOptions(
                revisionName: revisionSuffix.map { "\(name)-\($0)" }, noTraffic: noTraffic, tag: tag,
                rollout: try rolloutPolicy())
        }
    }

    /// The spec to send: the deployed one (when there is one) with the given flags applied.
    func spec(updating current: ServiceSpec?) throws(CLIError) -> ServiceSpec {
        guard var spec = current ?? image.map({ ServiceSpec(image: $0) }) else {
            throw CLIError(.invalidInput, "--image is required to create service \"\(name)\"")
        }
        do throws(ModelError) {
            if let image { spec.image = image }
            if let port { spec.port = port }
            if let portProtocol { spec.portProtocol = try PortProtocol(parsing: portProtocol) }
            for removed in removeEnv { spec.env.removeAll { $0.name == removed } }
            for text in env {
                let variable = try EnvVar(parsing: text)
                if let index = spec.env.firstIndex(where: { $0.name == variable.name }) {
                    spec.env[index] = variable
                } else {
                    spec.env.append(variable)
                }
            }
            // An empty value, as with gcloud, goes back to the image's entrypoint or cmd.
            if !command.isEmpty { spec.command = command == [""] ? nil : command }
            if !args.isEmpty { spec.args = args == [""] ? nil : args }
            if let memory { spec.memory = try MemoryQuantity(memory) }
            if let cpu { spec.cpu = try CPUQuantity(cpu) }
            try scaling.apply(to: &spec)
            spec.probes = try probes(updating: spec.probes)
            try spec.validate()
        } catch {
            throw CLIError(.invalidInput, error.message)
        }
        return spec
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        let timeout = try DurationText.parse(waitTimeout, field: "wait-timeout")
        let progress = ProgressLine()
        defer { progress.clear() }
        let service = try await global.withClient { client in
            let existing = try await client.serviceIfExists(name)
            let options: DeployOptions
            do throws(ModelError) { options = try self.options } catch { throw CLIError(.invalidInput, error.message) }
            let (service, _) = try await client.deploy(name, spec: try spec(updating: existing?.spec), options: options)
            let action = "Deploying \(name) (revision \(service.latestRevision))…"
            guard !noWait else { return (service, "\(action) not waiting: \(Self.where(service))") }
            progress.update(action, force: true)
            let ready = try await waitUntilReady(client, name: name, timeout: timeout) { ready, wanted in
                progress.update("\(action) \(ready)/\(wanted) instances ready")
            }
            return (ready, "\(action) ready: \(Self.where(ready))")
        }
        progress.clear()
        if let text = try global.output.encode(service.0) {
            Console.out(text)
        } else {
            Console.out(service.1 + "\n")
        }
    }

    /// The service's URL, the new revision's share when it is not all, and its tag URLs.
    static func `where`(_ service: Service) -> String {
        let latest = service.trafficStatus.filter { $0.revision == service.latestRevision }
        var text = service.url
        let percent = latest.reduce(0) { $0 + $1.percent }
        if percent < 100, !service.trafficStatus.isEmpty {
            text += " (\(service.latestRevision) gets \(percent)% of it)"
        }
        for target in latest { if let url = target.url { text += "\n  tag \(target.tag ?? ""): \(url)" } }
        if let rollout = service.rollout, rollout.isActive {
            text +=
                "\n  rolling out \(rollout.to): \(rollout.policy.step)% every \(rollout.policy.interval), "
                + "back to \(rollout.baseDescription) above \(rollout.policy.maxErrorRate.formatted())% 5xx; follow it with: skiff services describe \(service.name)"
        }
        return text
    }

    /// Polls until the latest revision is ready (the server reports it as the latest ready
    /// revision); an instance of it that failed ends the wait with its message.
    private func waitUntilReady(
        _ client: APIClient, name: ServiceName, timeout: Duration, report: (Int, Int) -> Void
    ) async throws -> Service {
        let deadline = ContinuousClock.now + timeout
        while true {
            let service = try await client.service(name)
            if let failure = service.latestRevisionFailure {
                let serving = service.trafficStatus.filter { $0.percent > 0 }.map { "\($0.revision) \($0.percent)%" }
                let kept = serving.isEmpty ? "" : "\ntraffic stays on \(serving.joined(separator: ", "))"
                throw CLIError(.notReady, "revision \(service.latestRevision) of \(name) failed: \(failure)\(kept)")
            }
            let wanted = max(service.spec.scaling.initialInstances, service.spec.minInstances)
            if service.latestReadyRevision == service.latestRevision { return service }
            report(service.readyInstances, wanted)
            guard ContinuousClock.now < deadline else {
                let reason = service.message.map { ": \($0)" } ?? ""
                throw CLIError(
                    .notReady,
                    "service \(name) is not ready after \(DurationText.format(timeout)) (\(service.readyInstances)/\(wanted) instances ready)\(reason)"
                )
            }
            try await Task.sleep(for: Self.pollInterval)
        }
    }
}
