// Reading a manifest's shape: every key of the document is read into a KnativeService,
// refused as unsupported (with the reason), accepted with a warning, or reported as an
// unknown field. What the values mean is checked by the mapping.

extension KnativeService {
    init(reading root: ManifestObject) {
        self.init(apiVersion: root.text("apiVersion"), kind: root.text("kind"))
        if let metadata = root.object("metadata") { self.metadata = ObjectMeta(readingService: metadata) }
        if let spec = root.object("spec") { self.spec = Spec(reading: spec) }
        root.ignored("status", because: "it is written by the server")
        root.finish()
    }
}

extension KnativeService.ObjectMeta {
    /// Written by Kubernetes: a manifest saved with `kubectl get -o yaml` has them.
    static let setByKubernetes = [
        "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
    ]

    init(readingService object: ManifestObject) {
        self.init(name: object.text("name"))
        let labels = Self.readShared(object)
        for label in labels
        where ["networking.knative.dev/visibility", "serving.knative.dev/visibility"].contains(label.key) {
            object.report.problem(
                "\(object.path("labels")).\(label.key)", .unsupported,
                "not supported by Skiff: every service is served on the gateway; there is no cluster-local visibility")
        }
        if let annotations = object.textMap("annotations") {
            var ignored: [String] = []
            for (key, _) in annotations {
                let path = "\(object.path("annotations")).\(key)"
                if key.hasPrefix(KnativeAnnotation.autoscalingPrefix) || key.hasPrefix(KnativeAnnotation.skiffPrefix) {
                    object.report.problem(
                        path, "belongs under spec.template.metadata.annotations, where it sets each revision")
                } else if ["serving.knative.dev/rollout-duration", "serving.knative.dev/rolloutDuration"].contains(key)
                {
                    object.report.problem(
                        path, .unsupported,
                        "not supported by Skiff: a gradual rollout is set with skiff deploy --rollout gradual, in steps"
                    )
                } else {
                    ignored.append(key)
                }
            }
            if !ignored.isEmpty {
                let keys = ignored.joined(separator: ", ")
                object.report.warning(
                    object.path("annotations"), "ignored: Skiff keeps no annotations of the Service (\(keys))")
            }
        }
        for key in Self.setByKubernetes { object.ignored(key, because: "set by Kubernetes") }
        object.unsupported("generateName", because: "give the name")
        object.unsupported("finalizers", "ownerReferences", because: "Skiff has no dependent objects to manage")
        object.finish()
    }

    /// The template's annotations are read whole: the mapping decides which carry settings.
    init(readingTemplate object: ManifestObject) {
        let annotations = object.textMap("annotations").map { Dictionary($0, uniquingKeysWith: { first, _ in first }) }
        self.init(name: object.text("name"), annotations: annotations)
        _ = Self.readShared(object)
        object.ignored("creationTimestamp", because: "set by Kubernetes")
        object.finish()
    }

    /// Namespace and labels, in either metadata; returns the labels.
    private static func readShared(_ object: ManifestObject) -> [(key: String, value: String)] {
        if let namespace = object.text("namespace"), namespace != "default" {
            object.report.problem(
                object.path("namespace"), .unsupported,
                "not supported by Skiff: it has one namespace; leave it out or write default")
        }
        let labels = object.textMap("labels") ?? []
        if !labels.isEmpty {
            object.report.warning(
                object.path("labels"), "ignored: Skiff keeps no labels (\(labels.map(\.key).joined(separator: ", ")))")
        }
        return labels
    }
}

extension KnativeService.Spec {
    init(reading object: ManifestObject) {
        self.init()
        if let template = object.object("template") {
            self.template = KnativeService.RevisionTemplate(reading: template)
        }
        traffic = object.objects("traffic")?.map(TrafficTarget.init(reading:))
        object.finish()
    }
}

extension KnativeService.RevisionTemplate {
    init(reading object: ManifestObject) {
        self.init()
        if let metadata = object.object("metadata") {
            self.metadata = KnativeService.ObjectMeta(readingTemplate: metadata)
        }
        if let spec = object.object("spec") { self.spec = KnativeService.RevisionSpec(reading: spec) }
        object.finish()
    }
}

extension KnativeService.RevisionSpec {
    init(reading object: ManifestObject) {
        let containers = object.objects("containers") ?? []
        self.init(
            containerConcurrency: object.int("containerConcurrency"), timeoutSeconds: object.int("timeoutSeconds"),
            responseStartTimeoutSeconds: object.int("responseStartTimeoutSeconds"),
            idleTimeoutSeconds: object.int("idleTimeoutSeconds"),
            containers: containers.prefix(1).map(KnativeService.Container.init(reading:)))
        for sidecar in containers.dropFirst() {
            object.report.problem(
                sidecar.path, .unsupported,
                "not supported by Skiff: an instance runs one container; there are no sidecars")
        }
        object.unsupported(
            "volumes", because: "Skiff has no volumes; each instance gets its own writable root filesystem")
        object.unsupported("serviceAccountName", because: "Skiff has no service accounts")
        object.only("automountServiceAccountToken", false, because: "Skiff has no service account tokens to mount")
        object.only("enableServiceLinks", false, because: "Skiff sets no service-link variables")
        object.unsupported(
            "imagePullSecrets",
            because: "Skiff has no Secrets; save the registry's credentials with skiff registries login")
        object.unsupported(
            "affinity", "nodeSelector", "tolerations", "topologySpreadConstraints", "schedulerName",
            "priorityClassName",
            "runtimeClassName", because: "Skiff runs on one machine, without a scheduler")
        object.unsupported(
            "hostNetwork", "hostPID", "hostIPC", "hostAliases", "dnsPolicy", "dnsConfig", "shareProcessNamespace",
            because: "every instance gets Skiff's own network and process namespaces")
        object.unsupported(
            "securityContext",
            because: "Skiff confines every instance the same way; see the container's securityContext")
        object.unsupported("initContainers", because: "an instance runs one container")
        object.finish()
    }
}

extension KnativeService.Container {
    init(reading object: ManifestObject) {
        let ports = object.objects("ports") ?? []
        self.init(
            image: object.text("image"),
            ports: object.contains("ports") ? ports.prefix(1).map(KnativeService.ContainerPort.init(reading:)) : nil,
            env: object.objects("env")?.map(EnvVar.init(reading:)), command: object.texts("command"),
            args: object.texts("args"),
            resources: object.object("resources").map(KnativeService.Resources.init(reading:)),
            startupProbe: object.object("startupProbe").map(Probe.init(reading:)),
            readinessProbe: object.object("readinessProbe").map(Probe.init(reading:)),
            livenessProbe: object.object("livenessProbe").map(Probe.init(reading:)))
        for extra in ports.dropFirst() {
            object.report.problem(extra.path, .unsupported, "not supported by Skiff: the gateway routes to one port")
        }
        object.ignored("name", because: "Skiff names the container after the service")
        object.ignored(
            "imagePullPolicy", because: "Skiff resolves the image to a digest once, when it makes the revision")
        object.ignored(
            "terminationMessagePath", "terminationMessagePolicy", because: "Skiff keeps the instance's log instead")
        object.unsupported("envFrom", because: "Skiff has no ConfigMaps or Secrets yet; list the variables under env")
        object.unsupported("volumeMounts", because: "Skiff has no volumes")
        object.unsupported("workingDir", because: "the container runs in the image's working directory")
        if let security = object.object("securityContext") { Self.readSecurityContext(security) }
        object.finish()
    }

    /// Accepted only where it asks for what Skiff does to every instance anyway; anything
    /// else would be a promise Skiff does not keep.
    private static func readSecurityContext(_ object: ManifestObject) {
        object.only("allowPrivilegeEscalation", false, because: "Skiff always sets no_new_privileges")
        object.only("privileged", false, because: "Skiff never runs privileged containers")
        object.only("readOnlyRootFilesystem", false, because: "the root filesystem of an instance is writable")
        object.only("runAsNonRoot", false, because: "Skiff runs the image's user and does not check it")
        object.unsupported("runAsUser", "runAsGroup", because: "Skiff runs the image's user")
        object.unsupported(
            "capabilities",
            because:
                "every instance gets Docker's default capabilities without NET_RAW; they cannot be changed per service")
        if let seccomp = object.object("seccompProfile") {
            seccomp.only(
                "type", "RuntimeDefault", because: "Skiff applies its own default seccomp profile to every instance")
            seccomp.unsupported(
                "localhostProfile", because: "Skiff applies its own default seccomp profile to every instance")
            seccomp.finish()
        }
        object.finish()
    }
}

extension KnativeService.ContainerPort {
    init(reading object: ManifestObject) {
        // Knative names the port's protocol: http1 (the default) or h2c.
        self.init(containerPort: object.int("containerPort"), name: object.text("name"))
        if let name, PortProtocol(rawValue: name) == nil {
            object.report.problem(object.path("name"), "must be \(PortProtocol.allowed), not \"\(name)\"")
        }
        object.only("protocol", "TCP", because: "Skiff serves HTTP over TCP")
        object.finish()
    }
}

extension KnativeService.Resources {
    init(reading object: ManifestObject) {
        self.init()
        if let limits = object.object("limits") {
            self.limits = KnativeService.Limits(cpu: limits.text("cpu"), memory: limits.text("memory"))
            limits.finish(rest: .unsupported("Skiff limits cpu and memory only"))
        }
        // Requests reserve capacity on a node when a scheduler places a pod; Skiff has no
        // scheduler, and refusing them would refuse most real manifests.
        object.ignored("requests", because: "Skiff enforces limits only; there is no scheduler to reserve capacity")
        object.finish()
    }
}

extension EnvVar {
    init(reading object: ManifestObject) {
        let name = object.text("name")
        if name == nil { object.report.problem(object.path("name"), "required") }
        self.init(name: name ?? "", value: object.text("value") ?? "")
        object.unsupported(
            "valueFrom", because: "Skiff has no ConfigMaps, Secrets or downward API yet; give the value")
        object.finish()
    }
}

extension Probe {
    init(reading object: ManifestObject) {
        self.init()
        httpGet = object.object("httpGet").map(HTTPGetAction.init(reading:))
        tcpSocket = object.object("tcpSocket").map(TCPSocketAction.init(reading:))
        exec = object.object("exec").map { exec in
            defer { exec.finish() }
            return ExecAction(command: exec.texts("command") ?? [])
        }
        object.unsupported("grpc", because: "probes are httpGet, tcpSocket or exec")
        if let value = object.int("initialDelaySeconds") { initialDelaySeconds = value }
        if let value = object.int("periodSeconds") { periodSeconds = value }
        if let value = object.int("timeoutSeconds") { timeoutSeconds = value }
        if let value = object.int("failureThreshold") { failureThreshold = value }
        if let value = object.int("successThreshold") { successThreshold = value }
        object.finish()
    }
}

extension HTTPGetAction {
    init(reading object: ManifestObject) {
        self.init(path: object.text("path") ?? "/", port: Self.port(object))
        httpHeaders = (object.objects("httpHeaders") ?? []).map { header in
            defer { header.finish() }
            return HTTPHeader(name: header.text("name") ?? "", value: header.text("value") ?? "")
        }
        object.only("scheme", "HTTP", because: "Skiff probes over plain HTTP")
        object.unsupported("host", because: "probes go to the instance's own address")
        object.finish()
    }

    /// A port number; 0 (as Knative writes its defaults) means the container's port.
    static func port(_ object: ManifestObject) -> Int? {
        if object.isString("port") {
            object.report.problem(
                object.path("port"), .unsupported, "not supported by Skiff: named ports; give the number")
            return nil
        }
        return object.int("port").flatMap { $0 == 0 ? nil : $0 }
    }
}

extension TCPSocketAction {
    init(reading object: ManifestObject) {
        self.init(port: HTTPGetAction.port(object))
        object.unsupported("host", because: "probes go to the instance's own address")
        object.finish()
    }
}

extension TrafficTarget {
    /// Knative's defaults: no revisionName follows the latest revision; no percent is 0.
    init(reading object: ManifestObject) {
        let revisionName = object.text("revisionName")
        self.init(
            revisionName: revisionName, latestRevision: object.bool("latestRevision") ?? (revisionName == nil),
            percent: object.int("percent") ?? 0, tag: object.text("tag"))
        object.unsupported(
            "configurationName", because: "a service is its own configuration; give revisionName or latestRevision")
        object.unsupported("url", because: "it is output only (Knative refuses it in spec too)")
        object.finish()
    }
}
