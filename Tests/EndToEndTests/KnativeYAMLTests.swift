import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// `skiff apply -f` and `skiff export` with Knative Service YAML against a real server: the
/// export validates against Knative's CRD schema, applying it back makes no revision, and a
/// refused manifest changes nothing.
@Suite struct KnativeYAMLTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    /// Knative's Service CRD with its OpenAPI schema (Apache-2.0, The Knative Authors), never
    /// copied into the project: `SKIFF_KNATIVE_CRD` names it, or it is read beside the
    /// checkout, at `../shared/testdata/knative/service-crd.yaml` from the package root.
    static let crd: String = {
        if let path = ProcessInfo.processInfo.environment["SKIFF_KNATIVE_CRD"] { return path }
        let packageRoot = here.deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent(
            "shared/testdata/knative/service-crd.yaml"
        )
        .standardizedFileURL.path
    }()
    static let validator = here.appendingPathComponent("Support/validate_knative.py").path

    /// What the CRD's schema finds wrong with `yaml`; empty when it is valid.
    static func schemaProblems(_ yaml: String) async throws -> String {
        guard FileManager.default.fileExists(atPath: crd) else {
            throw HarnessError("Knative's Service CRD is not at \(crd); set SKIFF_KNATIVE_CRD to its path")
        }
        // Debian's python3, where `make deps` installs python3-jsonschema and python3-yaml.
        let result = try await ChildProcess.run("/usr/bin/python3", [validator, crd], input: yaml)
        return result.status == 0 ? "" : "status \(result.status): \(result.combined)"
    }

    static func revisions(_ server: ServerHarness, _ service: String) async throws -> [String] {
        let response = try await server.get("/v1/revisions?service=\(service)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]])
        return list.compactMap { $0["name"] as? String }
    }

    /// The service as the API shows it, without what changes by itself (instances, times).
    static func state(_ server: ServerHarness, _ service: String) async throws -> String {
        let response = try await server.get("/v1/services/\(service)")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
        for key in ["readyInstances", "updatedAt", "message", "trafficStatus", "latestRevisionFailure"] {
            object[key] = nil
        }
        return String(
            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func apply(_ server: ServerHarness, _ yaml: String) async throws -> ServerHarness.CommandResult {
        let path = server.dataDir + "/manifest-\(UUID().uuidString).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try await server.skiff(["apply", "-f", path])
    }

    /// The first side of a blue/green service; the documentation's split sample
    /// (`KnativeSamples.trafficSplit`) then adds `shop-green` beside it.
    static let blue = """
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata:
          name: shop
        spec:
          template:
            metadata:
              name: shop-blue
            spec:
              containers:
                - image: hello:v1
                  env:
                    - name: GREETING
                      value: blue
        """

    @Test(.enabled(if: E2E.enabled)) func appliesATaggedSplitExportsItAndReappliesWithoutANewRevision() async throws {
        try await E2E.withServer { server in
            let created = try await Self.apply(server, Self.blue)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(
                created.stdout.hasPrefix("shop created (revision shop-blue), ready: http://shop.localhost:"),
                "\(created.stdout)")

            let split = try await Self.apply(server, KnativeSamples.trafficSplit(image: "hello:v1"))
            #expect(split.status == 0, "\(split.stderr)")
            #expect(split.stdout.hasPrefix("shop updated (revision shop-green), ready:"), "\(split.stdout)")
            #expect(
                split.stdout.contains("tag green: http://green---shop.localhost:\(server.httpPort)/ (shop-green, 20%)"),
                "\(split.stdout)")
            let green = try await server.gateway("/cgi-bin/hello", host: "green---shop.localhost")
            #expect(green.body.hasPrefix("green from shop-green-"), "\(green.body)")
            let blue = try await server.gateway("/cgi-bin/hello", host: "blue---shop.localhost")
            #expect(blue.body.hasPrefix("blue from shop-blue-"), "\(blue.body)")

            let exported = try await server.skiffOK(["export", "shop"])
            #expect(exported.contains("      name: shop-green\n"), "\(exported)")
            #expect(exported.contains("revisionName: shop-blue"), "\(exported)")
            #expect(try await Self.schemaProblems(exported) == "", "\(exported)")
            // The check can fail: a share that is not a number breaks the schema.
            let broken = exported.replacingOccurrences(of: "percent: 80", with: "percent: ten")
            #expect(broken != exported)
            #expect(
                try await Self.schemaProblems(broken).contains(
                    "spec.traffic[0].percent: 'ten' is not of type 'integer'"))

            let revisions = try await Self.revisions(server, "shop")
            #expect(revisions == ["shop-blue", "shop-green"])
            let again = try await server.skiff(["apply", "-f", "-"], stdin: exported)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.hasPrefix("shop unchanged (revision shop-green), ready:"), "\(again.stdout)")
            #expect(again.stderr.isEmpty, "an export applies without warnings: \(again.stderr)")
            #expect(try await Self.revisions(server, "shop") == revisions)
            #expect(try await server.skiffOK(["export", "shop"]) == exported)
        }
    }

    /// The documentation's hello world and autoscaling samples, and one with Skiff's own
    /// settings beside Knative's: each exports to a valid manifest that applies back unchanged.
    @Test(.enabled(if: E2E.enabled)) func samplesRoundTripThroughExport() async throws {
        let skiffSettings = """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata:
              name: thumbs
            spec:
              template:
                metadata:
                  annotations:
                    autoscaling.knative.dev/min-scale: "1"
                    autoscaling.knative.dev/max-scale: "3"
                    autoscaling.knative.dev/target: "10"
                    autoscaling.knative.dev/window: "30s"
                    autoscaling.knative.dev/scale-down-delay: "1m"
                    skiff.dev/freeze-after: "2s"
                    skiff.dev/response-start-timeout: "2.5s"
                spec:
                  containerConcurrency: 5
                  timeoutSeconds: 60
                  idleTimeoutSeconds: 30
                  containers:
                    - image: hello:v1
                      resources:
                        limits:
                          memory: 64Mi
                          cpu: 500m
                      startupProbe:
                        tcpSocket: {}
                        periodSeconds: 1
                        failureThreshold: 60
            """
        try await E2E.withServer { server in
            let samples = [
                ("greeter", KnativeSamples.helloWorld(image: "hello:v1")),
                ("thumbnails", KnativeSamples.autoscaling(image: "hello:v1")), ("thumbs", skiffSettings),
            ]
            for (name, yaml) in samples {
                let created = try await Self.apply(server, yaml)
                #expect(created.status == 0, "\(created.stderr)")
                #expect(
                    created.stdout.hasPrefix("\(name) created (revision \(name)-00001), ready:"), "\(created.stdout)")
                let exported = try await server.skiffOK(["export", name])
                #expect(try await Self.schemaProblems(exported) == "", "\(exported)")
                let again = try await server.skiff(["apply", "-f", "-"], stdin: exported)
                #expect(
                    again.stdout.hasPrefix("\(name) unchanged (revision \(name)-00001)"),
                    "\(again.stdout) \(again.stderr)")
                #expect(try await Self.revisions(server, name) == ["\(name)-00001"])
            }
            let thumbs = try await server.skiffOK(["export", "thumbs", "--format", "knative"])
            #expect(thumbs.contains("skiff.dev/freeze-after: 2s"), "\(thumbs)")
            #expect(thumbs.contains("idleTimeoutSeconds: 30"), "\(thumbs)")
            #expect(thumbs.contains("skiff.dev/response-start-timeout: 2.5s"), "\(thumbs)")
            #expect(thumbs.contains("failureThreshold: 60"), "\(thumbs)")
            let json = try await server.skiffOK(["export", "thumbs", "-o", "json"])
            #expect(json.contains(#""containerConcurrency" : 5"#), "\(json)")
        }
    }

    @Test(.enabled(if: E2E.enabled)) func aRefusedManifestChangesNothing() async throws {
        try await E2E.withServer { server in
            let good = Self.blue
            #expect(try await Self.apply(server, good).status == 0)
            let before = try await Self.state(server, "shop")
            let revisions = try await Self.revisions(server, "shop")

            // Refused by apply itself: every problem on a line of its own, naming its field.
            let bad = try await Self.apply(
                server,
                good.replacingOccurrences(
                    of: "value: blue", with: "value: red\n          volumeMounts: []\n          imagePullPolcy: Always")
                    + "\n  traffic: [{latestRevision: true, percent: ten}]")
            #expect(bad.status != 0)
            #expect(bad.stdout.isEmpty, "\(bad.stdout)")
            let lines = bad.stderr.split(separator: "\n").map {
                $0.replacingOccurrences(of: server.dataDir, with: "DIR")
            }
            #expect(lines.count == 3, "\(bad.stderr)")
            #expect(
                lines.contains { $0.hasSuffix("spec.template.spec.containers[0].imagePullPolcy: unknown field") },
                "\(lines)")
            #expect(
                lines.contains { $0.contains("spec.template.spec.containers[0].volumeMounts: not supported by Skiff") },
                "\(lines)")
            #expect(
                lines.contains { $0.hasSuffix("spec.traffic[0].percent: expected an integer, not \"ten\"") }, "\(lines)"
            )
            #expect(lines.allSatisfy { $0.hasPrefix("error: DIR/manifest-") }, "\(lines)")

            // Refused by the server: a share for a revision that does not exist.
            let unknown = try await Self.apply(
                server, good + "\n  traffic: [{revisionName: shop-gone, percent: 100}]")
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("shop-gone"), "\(unknown.stderr)")

            // Refused by the server: an existing revision name with another template.
            let renamed = try await Self.apply(server, good.replacingOccurrences(of: "value: blue", with: "value: red"))
            #expect(renamed.status != 0)
            #expect(renamed.stderr.contains("give spec.template.metadata.name a new name"), "\(renamed.stderr)")

            #expect(try await Self.state(server, "shop") == before)
            #expect(try await Self.revisions(server, "shop") == revisions)
            let served = try await server.gateway("/cgi-bin/hello", host: "shop.localhost")
            #expect(served.body.hasPrefix("blue from shop-blue-"), "\(served.body)")
        }
    }
}
