// The mapping between a Knative Service and a Skiff service, both ways. Reading checks what
// the values mean (required fields, quantities, annotations, ranges) and puts each problem
// on the manifest's path; writing puts every setting of the template where reading finds it,
// so that apply(export(service)) deploys an equal template.

extension KnativeService {
    static let containerPath = "spec.template.spec.containers[0]"
    static let annotationsPath = "spec.template.metadata.annotations"

    /// A request timeout: a whole number of seconds in Knative's field, or a `skiff.dev`
    /// annotation when it has a fraction of a second, which the field cannot hold.
    struct TimeoutField {
        let key: String
        let annotation: String
        /// The name `RequestTimeouts.validate()` gives it.
        let field: String
        let timeout: WritableKeyPath<RequestTimeouts, TimeSpan>
        let seconds: WritableKeyPath<RevisionSpec, Int?>
    }

    static var timeoutFields: [TimeoutField] {
        [
            TimeoutField(
                key: "timeoutSeconds", annotation: "\(KnativeAnnotation.skiffPrefix)timeout", field: "timeout",
                timeout: \.request, seconds: \.timeoutSeconds),
            TimeoutField(
                key: "responseStartTimeoutSeconds",
                annotation: "\(KnativeAnnotation.skiffPrefix)response-start-timeout",
                field: "response-start-timeout", timeout: \.responseStart, seconds: \.responseStartTimeoutSeconds),
            TimeoutField(
                key: "idleTimeoutSeconds", annotation: "\(KnativeAnnotation.skiffPrefix)idle-timeout",
                field: "idle-timeout",
                timeout: \.idle, seconds: \.idleTimeoutSeconds),
        ]
    }

    // MARK: Knative to Skiff

    /// The service this manifest deploys; nil when `report` holds problems.
    func deployment(_ report: ManifestReport) -> (name: ServiceName, spec: ServiceSpec, options: DeployOptions)? {
        for (field, value, expected) in [("apiVersion", apiVersion, Self.servingV1), ("kind", kind, Self.serviceKind)] {
            if let value, value != expected {
                report.problem(field, "expected \(expected), not \"\(value)\"")
            } else if value == nil {
                report.problem(field, "required: \(expected)")
            }
        }
        var name: ServiceName?
        if let text = metadata.name {
            do { name = try ServiceName(text) } catch { report.problem("metadata.name", error) }
        } else {
            report.problem("metadata.name", "required")
        }
        var service = containerSpec(report)
        if let concurrency = spec.template.spec.containerConcurrency { service.scaling.concurrency = concurrency }
        var annotations = spec.template.metadata.annotations ?? [:]
        var paths = readTimeouts(into: &service.timeouts, annotations: &annotations, report)
        paths.merge(Self.readAnnotations(&annotations, into: &service.scaling, report)) { first, _ in first }
        let options = name.map { deployOptions(for: $0, report) }

        guard report.problems.isEmpty, let name, let options else { return nil }
        // The rules across fields (min-scale above max-scale…), and the ranges.
        do {
            try service.validate()
        } catch {
            report.problem(paths[error.field ?? ""] ?? Self.path(ofSpecField: error.field), error)
            return nil
        }
        return (name, service, options)
    }

    /// The container's part of the spec: image, port and its protocol, env, command, limits
    /// and probes.
    private func containerSpec(_ report: ManifestReport) -> ServiceSpec {
        let c = Self.containerPath
        guard let container = spec.template.spec.containers.first else {
            report.problem("spec.template.spec.containers", "required: the container to run")
            return ServiceSpec(image: "")
        }
        if (container.image ?? "").isEmpty { report.problem("\(c).image", "required") }
        var service = ServiceSpec(image: container.image ?? "", env: container.env ?? [])
        if let port = container.ports?.first?.containerPort { service.port = port }
        // An unknown name was reported while reading.
        if let name = container.ports?.first?.name, let portProtocol = PortProtocol(rawValue: name) {
            service.portProtocol = portProtocol
        }
        var seen = Set<String>()
        for (index, variable) in service.env.enumerated() where !report.hasProblems(under: "\(c).env[\(index)]") {
            do { try variable.validate() } catch { report.problem("\(c).env[\(index)].name", error) }
            if !seen.insert(variable.name).inserted {
                report.problem("\(c).env[\(index)].name", "\(variable.name) is given twice")
            }
        }
        service.command = container.command
        service.args = container.args
        if let limits = container.resources?.limits {
            let path = "\(c).resources.limits"
            do { service.memory = try limits.memory.map(MemoryQuantity.init) } catch {
                report.problem("\(path).memory", error)
            }
            do { service.cpu = try limits.cpu.map(CPUQuantity.init) } catch { report.problem("\(path).cpu", error) }
        }
        let probes: [(Probe.Kind, Probe?)] = [
            (.startup, container.startupProbe), (.readiness, container.readinessProbe),
            (.liveness, container.livenessProbe),
        ]
        for case (let kind, let probe?) in probes {
            let path = "\(c).\(kind.rawValue)Probe"
            if !report.hasProblems(under: path) {
                do { try probe.validate(kind) } catch { report.problem(path, error) }
            }
            service.probes[kind] = probe
        }
        return service
    }

    /// The revision's name and the traffic.
    private func deployOptions(for name: ServiceName, _ report: ManifestReport) -> DeployOptions {
        var options = DeployOptions()
        if let revisionName = spec.template.metadata.name {
            do {
                try Revision.validateName(revisionName, service: name)
            } catch {
                report.problem("spec.template.metadata.name", error)
            }
            options.revisionName = revisionName
        }
        // Without traffic, Knative sends everything to the latest ready revision; saying so
        // explicitly makes apply declarative: it replaces whatever split was set before.
        let traffic = spec.traffic.flatMap { $0.isEmpty ? nil : $0 } ?? TrafficTarget.allToLatest
        if !report.hasProblems(under: "spec.traffic") {
            do { try traffic.validate(service: name) } catch { report.problem("spec.traffic", error) }
        }
        options.traffic = traffic
        return options
    }

    /// Reads `timeoutSeconds` and its siblings, or their annotations; returns the path of
    /// each, by the name `RequestTimeouts.validate()` gives it.
    private func readTimeouts(
        into timeouts: inout RequestTimeouts, annotations: inout [String: String], _ report: ManifestReport
    ) -> [String: String] {
        var paths: [String: String] = [:]
        for timeout in Self.timeoutFields {
            let seconds = spec.template.spec[keyPath: timeout.seconds]
            let secondsPath = "spec.template.spec.\(timeout.key)"
            let annotationPath = "\(Self.annotationsPath).\(timeout.annotation)"
            paths[timeout.field] = secondsPath
            switch (seconds, annotations.removeValue(forKey: timeout.annotation)) {
            case (.some, .some):
                report.problem(annotationPath, "give either this or \(secondsPath), not both")
            case (let seconds?, nil):
                if seconds < 0 {
                    report.problem(secondsPath, "must not be negative")
                } else {
                    timeouts[keyPath: timeout.timeout] = .seconds(seconds)
                }
            case (nil, let text?):
                paths[timeout.field] = annotationPath
                do {
                    timeouts[keyPath: timeout.timeout] = TimeSpan(try DurationText.parse(text))
                } catch {
                    report.problem(annotationPath, "expected a duration such as 1.5s or 250ms, not \"\(text)\"")
                }
            case (nil, nil):
                break
            }
        }
        return paths
    }

    /// Reads the scaling annotations and checks the rest: an unknown name in a namespace
    /// Skiff reads is a problem (a typo would otherwise lose the setting), any other
    /// annotation a warning. Returns the path of each setting, by its `ScalingSpec` field.
    private static func readAnnotations(
        _ annotations: inout [String: String], into scaling: inout ScalingSpec, _ report: ManifestReport
    ) -> [String: String] {
        func path(_ key: String) -> String { "\(annotationsPath).\(key)" }
        /// The value under the current or the legacy name; both is a problem.
        func take(_ key: String, _ legacyKey: String?) -> (key: String, text: String)? {
            let given = [key, legacyKey].compactMap { $0 }.filter { annotations[$0] != nil }
            if given.count > 1 { report.problem(path(given[1]), "give either this or \(key), not both") }
            guard let first = given.first, let text = annotations[first] else { return nil }
            for key in given { annotations[key] = nil }
            return (first, text)
        }

        var paths: [String: String] = [:]
        for setting in KnativeAnnotation.settings {
            paths[setting.field] = path(setting.key)
            guard let (key, text) = take(setting.key, setting.legacyKey) else { continue }
            paths[setting.field] = path(key)
            if let message = setting.read(text, into: &scaling) { report.problem(path(key), message) }
        }
        for fixed in KnativeAnnotation.fixed {
            if let (key, text) = take(fixed.key, fixed.legacyKey), text != fixed.value {
                report.problem(
                    path(key), .unsupported,
                    "not supported by Skiff with \(text): \(fixed.why) (only \(fixed.value) is)")
            }
        }
        for unsupported in KnativeAnnotation.unsupported {
            if let (key, _) = take(unsupported.key, unsupported.legacyKey) {
                report.problem(path(key), .unsupported, "not supported by Skiff: \(unsupported.why)")
            }
        }
        var ignored: [String] = []
        for key in annotations.keys.sorted() {
            if key.hasPrefix(KnativeAnnotation.autoscalingPrefix) || key.hasPrefix(KnativeAnnotation.skiffPrefix) {
                report.problem(path(key), .unknownField, "unknown annotation")
            } else {
                ignored.append(key)
            }
        }
        if !ignored.isEmpty {
            report.warning(
                annotationsPath, "ignored: Skiff keeps no other annotations (\(ignored.joined(separator: ", ")))")
        }
        return paths
    }

    /// Where a field of `ServiceSpec`, as its validation names it, is in the manifest.
    private static func path(ofSpecField field: String?) -> String {
        let c = containerPath
        switch field {
        case "image": return "\(c).image"
        case "port": return "\(c).ports[0].containerPort"
        case "env": return "\(c).env"
        case "command": return "\(c).command"
        case "memory": return "\(c).resources.limits.memory"
        case "cpu": return "\(c).resources.limits.cpu"
        case "concurrency": return "spec.template.spec.containerConcurrency"
        case let field? where field.hasSuffix("Probe"): return "\(c).\(field)"
        default: return "spec.template"
        }
    }

    // MARK: Skiff to Knative

    /// The manifest of a deployed service. It names the latest revision, so applying it back
    /// makes no new one, and writes only settings that differ from their defaults.
    public init(exporting service: Service) {
        let spec = service.spec
        var annotations: [String: String] = [:]
        for setting in KnativeAnnotation.settings {
            if let text = setting.written(spec.scaling) { annotations[setting.key] = text }
        }
        var revision = RevisionSpec(containerConcurrency: spec.scaling.concurrency)
        let defaults = RequestTimeouts()
        for timeout in Self.timeoutFields {
            let value = spec.timeouts[keyPath: timeout.timeout]
            let (seconds, fraction) = value.duration.components
            if fraction != 0 {
                annotations[timeout.annotation] = value.description
            } else if timeout.key == "timeoutSeconds" || value != defaults[keyPath: timeout.timeout] {
                // timeoutSeconds always, as Knative shows it; the others when they are set.
                revision[keyPath: timeout.seconds] = Int(seconds)
            }
        }
        let limits = Limits(cpu: spec.cpu?.description, memory: spec.memory?.description)
        revision.containers = [
            Container(
                image: spec.image,
                // The name only for h2c, so an http1 service exports as it did before h2c.
                ports: [
                    ContainerPort(
                        containerPort: spec.port, name: spec.portProtocol == .http1 ? nil : spec.portProtocol.rawValue)
                ],
                env: spec.env.isEmpty ? nil : spec.env,
                command: spec.command, args: spec.args,
                resources: limits == Limits() ? nil : Resources(limits: limits), startupProbe: spec.probes.startup,
                readinessProbe: spec.probes.readiness, livenessProbe: spec.probes.liveness)
        ]
        self.init(
            apiVersion: Self.servingV1, kind: Self.serviceKind, metadata: ObjectMeta(name: service.name.rawValue),
            spec: Spec(
                template: RevisionTemplate(
                    metadata: ObjectMeta(
                        name: service.latestRevision, annotations: annotations.isEmpty ? nil : annotations),
                    spec: revision),
                traffic: service.traffic))
    }
}

extension ManifestReport {
    /// A model error on `path`, without the field name its message may start with.
    func problem(_ path: String, _ error: any Error) {
        guard let error = error as? ModelError else { return problem(path, .invalidValue, "\(error)") }
        var message = error.message
        if let field = error.field, message.hasPrefix("\(field): ") { message.removeFirst(field.count + 2) }
        problem(path, error.code, message)
    }
}
