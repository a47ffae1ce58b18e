import ArgumentParser
import Foundation
import SkiffModel

/// `skiff apply -f`: creates or updates a service from a Knative Serving Service manifest,
/// declaratively, then waits until it serves.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create or update a service from a Knative Service manifest and wait until it is ready.",
        discussion: """
            FILE holds one serving.knative.dev/v1 Service, as you would give it to Knative: the \
            container's image, ports, env, command, args, resources.limits and probes; \
            containerConcurrency and the timeouts; autoscaling.knative.dev annotations on \
            spec.template.metadata; and spec.traffic. See docs/knative.md for the mapping.

            Every field Skiff does not know or does not support is an error naming its path, \
            all of them at once, and the service stays as it was. Fields that change nothing \
            in Skiff (labels, resources.requests) are accepted with a warning on stderr.

            apply is declarative: spec.traffic replaces the service's traffic (without it, the \
            latest ready revision gets all of it), and a manifest equal to the service makes no \
            new revision. spec.template.metadata.name names the revision the template makes; \
            a name that exists must come with the same template, so change or remove it along \
            with the template.

              skiff apply -f service.yaml
              cat service.yaml | skiff apply -f - --no-wait
              skiff export web > web.yaml && skiff apply -f web.yaml     # web unchanged
            """
    )

    @Option(
        name: [.customShort("f"), .customLong("filename")],
        help: ArgumentHelp("The manifest to apply; - reads it from standard input.", valueName: "file"))
    var file: String

    @Flag(help: "Return after the server accepted the manifest, without waiting for instances.")
    var noWait = false

    @Option(
        help: ArgumentHelp(
            "How long to wait for the new revision to become ready, e.g. 30s, 5m.", valueName: "duration"))
    var waitTimeout = "5m"

    @OptionGroup var global: GlobalOptions

    /// Manifests are small; a bigger file is a mistake (a binary, a log), not a manifest.
    static let maxManifestSize = 1 << 20

    func validate() throws {
        guard !file.isEmpty else { throw ValidationError("give the manifest with -f FILE, or -f - for standard input") }
        do throws(ModelError) {
            guard try DurationText.parse(waitTimeout, field: "wait-timeout") > .zero else {
                throw ModelError(
                    .invalidDuration, field: "wait-timeout",
                    "invalid --wait-timeout \(waitTimeout): must be more than 0")
            }
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() async throws {
        let timeout = try DurationText.parse(waitTimeout, field: "wait-timeout")
        let source = file == "-" ? "stdin" : file
        let manifest: KnativeManifest
        do {
            manifest = try KnativeManifest.parse(try readManifest())
        } catch let error as KnativeManifestError {
            // One line per problem, each on its own, so that all of them can be fixed in one go.
            Console.error(error.problems.map { "error: \(source): \($0.message)\n" }.joined())
            throw ExitCode.failure
        }
        for warning in manifest.warnings { Console.error("warning: \(source): \(warning)\n") }

        let progress = ProgressLine()
        defer { progress.clear() }
        let (service, summary) = try await global.withClient { client in
            let before = try await client.serviceIfExists(manifest.name)
            let deployed: Service
            do {
                deployed = try await client.deploy(manifest.name, spec: manifest.spec, options: manifest.options)
                    .service
            } catch let error as CLIError where error.status == 409 && manifest.options.revisionName != nil {
                throw CLIError(
                    error.code,
                    "\(error.message) (the template changed: give spec.template.metadata.name a new name, or remove it)",
                    apiCode: error.apiCode, status: error.status, cause: error)
            }
            let action =
                "\(manifest.name) \(Self.outcome(before: before, after: deployed)) (revision \(deployed.latestRevision))"
            guard !noWait else { return (deployed, "\(action), not waiting: \(deployed.url)") }
            progress.update("\(action), waiting until it is ready…", force: true)
            let ready = try await Self.waitUntilReady(client, name: manifest.name, timeout: timeout)
            return (ready, "\(action), ready: \(Self.urls(ready))")
        }
        progress.clear()
        Console.out(try global.output.encode(service) ?? summary + "\n")
    }

    private func readManifest() throws(CLIError) -> String {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard FileManager.default.fileExists(atPath: file) else {
                throw CLIError(.io, "cannot read \(file): no such file or directory")
            }
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw CLIError(.io, "cannot read \(file): \(error.localizedDescription)", cause: error)
            }
        }
        guard data.count <= Self.maxManifestSize else {
            throw CLIError(.invalidInput, "\(file == "-" ? "stdin" : file) is larger than 1 MiB; a manifest is not")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError(.invalidInput, "\(file == "-" ? "stdin" : file) is not UTF-8 text")
        }
        return text
    }

    /// What the apply did: made the service, a revision, only a traffic change, or nothing.
    static func outcome(before: Service?, after: Service) -> String {
        guard let before else { return "created" }
        if before.latestRevision != after.latestRevision { return "updated" }
        if before.traffic != after.traffic { return "traffic updated" }
        return "unchanged"
    }

    /// The service's URL, and each tag's with the revision and share it routes to.
    static func urls(_ service: Service) -> String {
        var text = service.url
        for target in service.trafficStatus {
            guard let tag = target.tag, let url = target.url else { continue }
            text += "\n  tag \(tag): \(url) (\(target.revision), \(target.percent)%)"
        }
        return text
    }

    /// Polls until the latest revision is ready; a revision that failed (image, crash,
    /// probe) ends the wait with the reason, as `skiff deploy` does.
    static func waitUntilReady(_ client: APIClient, name: ServiceName, timeout: Duration) async throws -> Service {
        let deadline = ContinuousClock.now + timeout
        while true {
            let service = try await client.service(name)
            if service.latestReadyRevision == service.latestRevision { return service }
            if let failure = service.latestRevisionFailure {
                let serving = service.trafficStatus.filter { $0.percent > 0 }.map { "\($0.revision) \($0.percent)%" }
                let kept = serving.isEmpty ? "" : "\ntraffic stays on \(serving.joined(separator: ", "))"
                throw CLIError(.notReady, "revision \(service.latestRevision) of \(name) failed: \(failure)\(kept)")
            }
            guard ContinuousClock.now < deadline else {
                let reason = service.message.map { ": \($0)" } ?? ""
                throw CLIError(.notReady, "service \(name) is not ready after \(DurationText.format(timeout))\(reason)")
            }
            try await Task.sleep(for: DeployCommand.pollInterval)
        }
    }
}
