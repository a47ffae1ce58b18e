import Foundation
import SkiffModel
import SkiffTestSupport
import Testing

/// Knative Serving YAML: what `skiff apply -f` reads and `skiff export` writes.
@Suite struct KnativeTests {
    // MARK: Samples from Knative's documentation (SkiffTestSupport), with images of their own

    static let helloWorld = KnativeSamples.helloWorld(image: "registry.example/greeter:1.0")
    static let trafficSplit = KnativeSamples.trafficSplit(image: "registry.example/shop:2")
    static let autoscaling = KnativeSamples.autoscaling(image: "registry.example/thumbnails:3")
    static let grpcPing = KnativeSamples.grpcPing(image: "registry.example/grpc-ping-go:1")

    @Test func readsTheHelloWorldSample() throws {
        let manifest = try KnativeManifest.parse(Self.helloWorld)
        #expect(manifest.name == "greeter")
        #expect(
            manifest.spec
                == ServiceSpec(image: "registry.example/greeter:1.0", env: [EnvVar(name: "TARGET", value: "Skiff")]))
        #expect(manifest.options == DeployOptions(traffic: TrafficTarget.allToLatest))
        #expect(manifest.warnings.isEmpty)
    }

    @Test func readsTheTrafficSplitSample() throws {
        let manifest = try KnativeManifest.parse(Self.trafficSplit)
        #expect(manifest.options.revisionName == "shop-green")
        #expect(manifest.options.traffic == [.revision("shop-blue", 80, tag: "blue"), .latest(20, tag: "green")])
        #expect(manifest.spec.env == [EnvVar(name: "GREETING", value: "green")])
    }

    @Test func readsTheAutoscalingSample() throws {
        let manifest = try KnativeManifest.parse(Self.autoscaling)
        var scaling = ScalingSpec()
        scaling.concurrency = 50
        scaling.target = 10
        scaling.targetUtilization = 80
        scaling.minInstances = 1
        scaling.maxInstances = 20
        scaling.initialInstances = 2
        scaling.window = .seconds(40)
        scaling.panicWindowPercentage = 20
        scaling.panicThresholdPercentage = 150
        scaling.scaleDownDelay = .seconds(300)
        scaling.scaleToZeroGrace = .seconds(90)
        #expect(manifest.spec.scaling == scaling)
        #expect(manifest.spec.timeouts.request == .seconds(120))
        #expect(manifest.spec.cpu == CPUQuantity(millis: 1000))
        #expect(manifest.spec.memory == MemoryQuantity(bytes: 256 << 20))
    }

    /// Knative's gRPC sample names its port h2c: the gateway speaks HTTP/2 cleartext to it.
    @Test func readsTheGRPCPingSample() throws {
        let manifest = try KnativeManifest.parse(Self.grpcPing)
        #expect(manifest.name == "grpc-ping")
        #expect(manifest.spec == ServiceSpec(image: "registry.example/grpc-ping-go:1", portProtocol: .h2c))
        #expect(manifest.warnings.isEmpty)
    }

    /// The names Knative used before its kebab-case ones still work.
    @Test func readsTheOlderCamelCaseAnnotations() throws {
        let manifest = try KnativeManifest.parse(
            Self.service(
                templateMetadata: """
                    annotations:
                      autoscaling.knative.dev/minScale: "2"
                      autoscaling.knative.dev/maxScale: "4"
                      autoscaling.knative.dev/initialScale: "3"
                      autoscaling.knative.dev/targetUtilizationPercentage: "50"
                      autoscaling.knative.dev/panicWindowPercentage: "5"
                      autoscaling.knative.dev/panicThresholdPercentage: "300"
                      autoscaling.knative.dev/scaleDownDelay: 10s
                      autoscaling.knative.dev/scaleToZeroPodRetentionPeriod: 2m
                    """))
        let scaling = manifest.spec.scaling
        let counts: [Int] = [scaling.minInstances, scaling.maxInstances, scaling.initialInstances]
        #expect(counts == [2, 4, 3])
        let percentages: [Double] = [
            scaling.targetUtilization, scaling.panicWindowPercentage, scaling.panicThresholdPercentage,
        ]
        #expect(percentages == [50, 5, 300])
        let delays: [TimeSpan] = [scaling.scaleDownDelay, scaling.scaleToZeroGrace]
        #expect(delays == [.seconds(10), .seconds(120)])
    }

    // MARK: Round trips

    @Test(arguments: [helloWorld, trafficSplit, autoscaling, grpcPing])
    func exportedSamplesReadBackTheSame(sample: String) throws {
        let manifest = try KnativeManifest.parse(sample)
        let exported = try Self.export(manifest)
        let again = try KnativeManifest.parse(exported)
        #expect(again.spec == manifest.spec)
        #expect(again.options.traffic == manifest.options.traffic)
        #expect(again.options.revisionName == (manifest.options.revisionName ?? "\(manifest.name)-00001"))
        #expect(again.warnings.isEmpty)
        #expect(try Self.export(again) == exported, "the same service exports the same text")
    }

    /// Every setting away from its default, including the Skiff-only ones and timeouts
    /// finer than Knative's whole seconds, survives export and apply.
    @Test func everySettingSurvivesARoundTrip() throws {
        var spec = ServiceSpec(
            image: "team/api@sha256:\(String(repeating: "ab", count: 32))", port: 9000, portProtocol: .h2c,
            env: [EnvVar(name: "B", value: "2"), EnvVar(name: "A", value: "")], command: ["/bin/api"], args: [],
            memory: try MemoryQuantity("1Gi"), cpu: try CPUQuantity("250m"))
        spec.scaling.concurrency = 4
        spec.scaling.target = 2.5
        spec.scaling.targetUtilization = 90
        spec.scaling.minInstances = 1
        spec.scaling.maxInstances = 7
        spec.scaling.initialInstances = 0
        spec.scaling.window = .milliseconds(6500)
        spec.scaling.panicWindowPercentage = 12.5
        spec.scaling.panicThresholdPercentage = 110
        spec.scaling.scaleDownDelay = .seconds(90)
        spec.scaling.scaleToZeroGrace = .seconds(0)
        spec.scaling.freezeAfter = .milliseconds(250)
        spec.scaling.frozenRetention = .seconds(3600)
        spec.timeouts.request = .milliseconds(1500)
        spec.timeouts.responseStart = .seconds(20)
        spec.timeouts.idle = .seconds(0)
        spec.probes = Probes(
            startup: Probe(tcpSocket: TCPSocketAction(), periodSeconds: 1, failureThreshold: 240),
            readiness: Probe(
                httpGet: HTTPGetAction(
                    path: "/ready", port: 9001, httpHeaders: [HTTPHeader(name: "X-Probe", value: "1")]),
                periodSeconds: 2, successThreshold: 2),
            liveness: Probe(exec: ExecAction(command: ["/bin/check", "--quick"]), initialDelaySeconds: 5))
        try spec.validate()
        let service = Service(
            name: "api", spec: spec, latestRevision: "api-blue", imageDigest: "", url: "", createdAt: Date(),
            updatedAt: Date(),
            traffic: [.revision("api-00001", 0, tag: "old"), .latest(100)])
        let yaml = try KnativeService(exporting: service).yaml()
        let manifest = try KnativeManifest.parse(yaml)
        #expect(manifest.spec == spec)
        #expect(manifest.options == DeployOptions(revisionName: "api-blue", traffic: service.traffic))
        #expect(yaml.contains("skiff.dev/timeout: 1.5s"), "\(yaml)")
        #expect(yaml.contains("responseStartTimeoutSeconds: 20"), "\(yaml)")
        #expect(!yaml.contains("\n      timeoutSeconds:"), "a request timeout with a fraction is not rounded: \(yaml)")
    }

    /// An h2c port is written back with its name; an http1 port without one, as before h2c.
    @Test func exportsTheH2CPortName() throws {
        let exported = try Self.export(try KnativeManifest.parse(Self.grpcPing))
        #expect(exported.contains("ports:\n        - containerPort: 8080\n          name: h2c\n"), "\(exported)")
        let http1 = try Self.export(
            try KnativeManifest.parse(Self.service(container: "ports: [{containerPort: 9000, name: http1}]")))
        #expect(http1.contains("ports:\n        - containerPort: 9000\n      timeoutSeconds"), "\(http1)")
        #expect(!http1.contains("name: http1"), "\(http1)")
    }

    /// Defaults are left out, keys are sorted, and nothing but the Knative fields is written.
    @Test func exportsASmallStableDocument() throws {
        let manifest = try KnativeManifest.parse(Self.helloWorld)
        #expect(
            try Self.export(manifest) == """
                apiVersion: serving.knative.dev/v1
                kind: Service
                metadata:
                  name: greeter
                spec:
                  template:
                    metadata:
                      name: greeter-00001
                    spec:
                      containerConcurrency: 0
                      containers:
                      - env:
                        - name: TARGET
                          value: Skiff
                        image: registry.example/greeter:1.0
                        ports:
                        - containerPort: 8080
                      timeoutSeconds: 300
                  traffic:
                  - latestRevision: true
                    percent: 100

                """)
    }

    // MARK: Problems

    @Test func reportsAnUnknownFieldByItsPath() {
        #expect(
            Self.problems(Self.service(container: "imagePullPolcy: Always")) == [
                "spec.template.spec.containers[0].imagePullPolcy: unknown field"
            ])
    }

    @Test func reportsEveryProblemAtOnce() {
        let yaml = """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata:
              name: web
              lables: {app: web}
            spec:
              template:
                spec:
                  containers:
                    - image: hello:v1
                      volumeMounts: [{name: data, mountPath: /data}]
                      envFrom: [{configMapRef: {name: settings}}]
                      readinessProbe:
                        grpc: {port: 9090}
                        periodSecond: 3
                  volumes: [{name: data, emptyDir: {}}]
              traffic:
                - configurationName: web
                  percent: ten
            """
        #expect(
            Self.problems(yaml) == [
                "metadata.lables: unknown field",
                "spec.template.spec.containers[0].readinessProbe.grpc: not supported by Skiff: probes are httpGet, tcpSocket or exec",
                "spec.template.spec.containers[0].readinessProbe.periodSecond: unknown field",
                "spec.template.spec.containers[0].envFrom: not supported by Skiff: Skiff has no ConfigMaps or Secrets yet; list the variables under env",
                "spec.template.spec.containers[0].volumeMounts: not supported by Skiff: Skiff has no volumes",
                "spec.template.spec.volumes: not supported by Skiff: Skiff has no volumes; each instance gets its own writable root filesystem",
                "spec.traffic[0].percent: expected an integer, not \"ten\"",
                "spec.traffic[0].configurationName: not supported by Skiff: a service is its own configuration; give revisionName or latestRevision",
            ])
    }

    /// Fields Knative has that Skiff does not implement: each an error naming the field.
    @Test(arguments: [
        (
            service(container: "env: [{name: KEY, valueFrom: {secretKeyRef: {name: s, key: k}}}]"),
            "containers[0].env[0].valueFrom"
        ),
        (service(container: "envFrom: [{secretRef: {name: s}}]"), "containers[0].envFrom"),
        (
            service().replacingOccurrences(
                of: "- image: hello:v1", with: "- image: hello:v1\n        - image: proxy:v1"), "containers[1]"
        ),
        (service(revision: "serviceAccountName: robot"), "spec.serviceAccountName"),
        (service(revision: "imagePullSecrets: [{name: pull}]"), "spec.imagePullSecrets"),
        (service(revision: "nodeSelector: {disk: ssd}"), "spec.nodeSelector"),
        (service(revision: "automountServiceAccountToken: true"), "spec.automountServiceAccountToken"),
        (service(container: "securityContext: {privileged: true}"), "securityContext.privileged"),
        (service(container: "securityContext: {capabilities: {drop: [ALL]}}"), "securityContext.capabilities"),
        (service(container: "securityContext: {runAsUser: 1000}"), "securityContext.runAsUser"),
        (service(container: "ports: [{containerPort: 8080, protocol: UDP}]"), "ports[0].protocol"),
        (service(container: "livenessProbe: {httpGet: {port: http}}"), "livenessProbe.httpGet.port"),
        (service(container: "livenessProbe: {httpGet: {path: /, scheme: HTTPS}}"), "livenessProbe.httpGet.scheme"),
        (service(container: "resources: {limits: {nvidia.com/gpu: 1}}"), "resources.limits.nvidia.com/gpu"),
        (service(metadata: "namespace: shop"), "metadata.namespace"),
        (
            service(metadata: "labels: {networking.knative.dev/visibility: cluster-local}"),
            "networking.knative.dev/visibility"
        ),
        (
            service(metadata: "annotations: {serving.knative.dev/rollout-duration: 60s}"),
            "serving.knative.dev/rollout-duration"
        ),
        (
            service(templateMetadata: "annotations: {autoscaling.knative.dev/class: hpa.autoscaling.knative.dev}"),
            "/class"
        ),
        (service(templateMetadata: "annotations: {autoscaling.knative.dev/metric: rps}"), "/metric"),
        (
            service(templateMetadata: "annotations: {autoscaling.knative.dev/target-burst-capacity: \"200\"}"),
            "/target-burst-capacity"
        ),
        (service(spec: "traffic: [{latestRevision: true, percent: 100, url: http://x}]"), "spec.traffic[0].url"),
    ])
    func refusesWhatSkiffDoesNotSupport(yaml: String, path: String) {
        let problems = Self.problems(yaml)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.contains("\(path): not supported by Skiff") == true, "\(problems)")
    }

    /// Values Skiff behaves as anyway are accepted: no promise is broken.
    @Test func acceptsHarmlessSecuritySettings() throws {
        let manifest = try KnativeManifest.parse(
            Self.service(
                revision: "enableServiceLinks: false\nautomountServiceAccountToken: false",
                container: """
                    securityContext:
                      allowPrivilegeEscalation: false
                      privileged: false
                      runAsNonRoot: false
                      seccompProfile: {type: RuntimeDefault}
                    ports: [{containerPort: 8080, name: http1, protocol: TCP}]
                    """))
        #expect(manifest.warnings.isEmpty)
    }

    /// Fields that change nothing in Skiff are accepted, and said so.
    @Test func warnsAboutWhatItIgnores() throws {
        let manifest = try KnativeManifest.parse(
            Self.service(
                metadata: "labels: {app: web}\nannotations: {team: payments}\nuid: 1234",
                templateMetadata: "annotations: {client.knative.dev/user-image: hello:v1}\ncreationTimestamp: null",
                container: "name: user-container\nresources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}"))
        #expect(manifest.spec.memory == MemoryQuantity(bytes: 64 << 20))
        #expect(
            manifest.warnings == [
                "metadata.labels: ignored: Skiff keeps no labels (app)",
                "metadata.annotations: ignored: Skiff keeps no annotations of the Service (team)",
                "metadata.uid: ignored: set by Kubernetes",
                "spec.template.spec.containers[0].resources.requests: ignored: Skiff enforces limits only; there is no scheduler to reserve capacity",
                "spec.template.spec.containers[0].name: ignored: Skiff names the container after the service",
                "spec.template.metadata.annotations: ignored: Skiff keeps no other annotations (client.knative.dev/user-image)",
            ])
    }

    @Test(arguments: [
        (
            service(spec: "traffic: [{latestRevision: true, percent: \"ten\"}]"),
            "spec.traffic[0].percent: expected an integer, not \"ten\""
        ),
        (
            service(spec: "traffic: [{latestRevision: true, percent: 90}]"),
            "spec.traffic: traffic percentages must sum to 100, not 90"
        ),
        (
            service(spec: "traffic: [{revisionName: api-1, percent: 100}]"),
            "spec.traffic: invalid revision name \"api-1\""
        ),
        (service(templateMetadata: "name: v2"), "spec.template.metadata.name: invalid revision name \"v2\""),
        (
            service(templateMetadata: "annotations: {autoscaling.knative.dev/min-scale: lots}"),
            "min-scale: expected a whole number, not \"lots\""
        ),
        (
            service(templateMetadata: "annotations: {autoscaling.knative.dev/window: 5 minutes}"),
            "autoscaling.knative.dev/window: expected a duration"
        ),
        (
            service(templateMetadata: "annotations: {autoscaling.knative.dev/window: 2s}"),
            "autoscaling.knative.dev/window: invalid window 2s"
        ),
        (
            service(
                templateMetadata:
                    "annotations: {autoscaling.knative.dev/min-scale: \"5\", autoscaling.knative.dev/max-scale: \"2\"}"),
            "annotations.autoscaling.knative.dev/min-scale: min-instances 5 is more than max-instances 2"
        ),
        (
            service(templateMetadata: "annotations: {autoscaling.knative.dev/minscale: \"1\"}"),
            "autoscaling.knative.dev/minscale: unknown annotation"
        ),
        (
            service(templateMetadata: "annotations: {skiff.dev/freeze: 1s}"),
            "annotations.skiff.dev/freeze: unknown annotation"
        ),
        (
            service(
                templateMetadata:
                    "annotations: {autoscaling.knative.dev/min-scale: \"1\", autoscaling.knative.dev/minScale: \"1\"}"),
            "autoscaling.knative.dev/minScale: give either this or autoscaling.knative.dev/min-scale, not both"
        ),
        (
            service(metadata: "annotations: {autoscaling.knative.dev/min-scale: \"1\"}"),
            "metadata.annotations.autoscaling.knative.dev/min-scale: belongs under spec.template.metadata.annotations"
        ),
        (
            service(revision: "containerConcurrency: 5000"),
            "spec.template.spec.containerConcurrency: invalid concurrency 5000"
        ),
        (service(revision: "containerConcurrency: \"10\""), "containerConcurrency: expected an integer, not \"10\""),
        (service(revision: "timeoutSeconds: -1"), "spec.template.spec.timeoutSeconds: must not be negative"),
        (service(revision: "timeoutSeconds: 7200"), "spec.template.spec.timeoutSeconds: invalid timeout 2h"),
        (service(container: "resources: {limits: {memory: lots}}"), "resources.limits.memory: invalid memory \"lots\""),
        (service(container: "resources: {limits: {cpu: 1m}}"), "resources.limits.cpu: invalid cpu \"1m\""),
        (service(container: "env: [{name: 1BAD, value: x}]"), "containers[0].env[0].name: invalid env name \"1BAD\""),
        (
            service(container: "ports: [{containerPort: 8080, name: http2}]"),
            "containers[0].ports[0].name: must be http1 or h2c, not \"http2\""
        ),
        (
            service(container: "readinessProbe: {periodSeconds: 3}"),
            "readinessProbe: needs one of httpGet, tcpSocket or exec"
        ),
        (service(container: "args: [-f, {a: b}]"), "containers[0].args[1]: expected a string, not an object"),
        (
            service().replacingOccurrences(of: "name: web", with: "name: Web_1"),
            "metadata.name: invalid service name \"Web_1\""
        ),
        (
            "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web}\nspec: {template: []}",
            "spec.template: expected an object, not a list"
        ),
    ])
    func namesTheFieldOfABadValue(yaml: String, expected: String) {
        let problems = Self.problems(yaml)
        #expect(problems.contains { $0.contains(expected) }, "\(problems)")
    }

    @Test func refusesOtherKindsAndVersions() {
        let yaml = Self.service().replacingOccurrences(
            of: "serving.knative.dev/v1", with: "serving.knative.dev/v1alpha1"
        )
        .replacingOccurrences(of: "kind: Service", with: "kind: Configuration")
        #expect(
            Self.problems(yaml) == [
                "apiVersion: expected serving.knative.dev/v1, not \"serving.knative.dev/v1alpha1\"",
                "kind: expected Service, not \"Configuration\"",
            ])
        #expect(
            Self.problems("metadata: {name: web}\nspec: {template: {spec: {containers: [{image: a}]}}}") == [
                "apiVersion: required: serving.knative.dev/v1", "kind: required: Service",
            ])
    }

    @Test func requiresANameAndAnImage() {
        #expect(
            Self.problems(
                "apiVersion: serving.knative.dev/v1\nkind: Service\nspec: {template: {spec: {containers: [{ports: []}]}}}"
            ) == [
                "metadata.name: required", "spec.template.spec.containers[0].image: required",
            ])
        #expect(
            Self.problems("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web}\nspec: {}") == [
                "spec.template.spec.containers: required: the container to run"
            ])
    }

    @Test func refusesWhatIsNotOneYAMLDocument() {
        #expect(Self.problems("a: [1\n").first?.hasPrefix("invalid YAML: line 2, column 1:") == true)
        #expect(Self.problems("a: 1\na: 2\n") == ["invalid YAML: a key is given twice: a"])
        #expect(Self.problems(Self.helloWorld + "\n---\n" + Self.helloWorld).first?.contains("found 2") == true)
        #expect(Self.problems("") == ["expected one YAML document with a Knative Service, found 0"])
        #expect(Self.problems("- a\n- b\n") == ["expected an object, not a list"])
    }

    /// The error prints one problem per line, each starting with its path.
    @Test func theErrorListsOneProblemPerLine() throws {
        do {
            _ = try KnativeManifest.parse(Self.service(container: "workingDir: /srv\nstdin: true"))
            Issue.record("expected the manifest to be refused")
        } catch {
            #expect(
                "\(error)" == """
                    spec.template.spec.containers[0].workingDir: not supported by Skiff: the container runs in the image's working directory
                    spec.template.spec.containers[0].stdin: unknown field
                    """)
            #expect(error.problems.map(\.code) == [.unsupported, .unknownField])
            #expect(
                error.problems.map(\.field) == [
                    "spec.template.spec.containers[0].workingDir", "spec.template.spec.containers[0].stdin",
                ])
        }
    }

    // MARK: Helpers

    /// A minimal valid manifest for `web` with snippets added at each level.
    static func service(
        metadata: String = "", spec: String = "", templateMetadata: String = "", revision: String = "",
        container: String = ""
    ) -> String {
        func indent(_ text: String, _ spaces: Int) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { String(repeating: " ", count: spaces) + $0 }.joined(separator: "\n")
        }
        return """
            apiVersion: serving.knative.dev/v1
            kind: Service
            metadata:
              name: web
            \(indent(metadata, 2))
            spec:
            \(indent(spec, 2))
              template:
                metadata:
            \(indent(templateMetadata, 6))
                spec:
            \(indent(revision, 6))
                  containers:
                    - image: hello:v1
            \(indent(container, 10))
            """
    }

    /// The problems `yaml` has, as printed.
    static func problems(_ yaml: String) -> [String] {
        do {
            let manifest = try KnativeManifest.parse(yaml)
            return ["accepted: \(manifest)"]
        } catch {
            return error.problems.map(\.message)
        }
    }

    /// What `skiff export` writes after `manifest` was applied as the service's first revision.
    static func export(_ manifest: KnativeManifest) throws -> String {
        let service = Service(
            name: manifest.name, spec: manifest.spec,
            latestRevision: manifest.options.revisionName ?? "\(manifest.name)-00001", imageDigest: "", url: "",
            createdAt: Date(), updatedAt: Date(), traffic: manifest.options.traffic ?? TrafficTarget.allToLatest)
        return try KnativeService(exporting: service).yaml()
    }
}
