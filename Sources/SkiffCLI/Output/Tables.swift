import Foundation
import SkiffModel

/// The table form of each API object, as the commands print it for people.
enum Tables {
    static func services(_ services: [Service], now: Date = Date()) -> String {
        var table = TableRenderer(["NAME", "READY", "INSTANCES", "REVISION", "IMAGE", "URL", "UPDATED"])
        for service in services {
            table.append([
                service.name.rawValue, service.latestReadyRevision == service.latestRevision ? "yes" : "no",
                String(service.readyInstances), service.latestRevision,
                service.spec.image, service.url, Humanize.age(of: service.updatedAt, now: now),
            ])
        }
        return table.render()
    }

    /// `ID STATE ADDRESS STARTED RESTARTS`, with `SERVICE` when several services are listed
    /// and `MESSAGE` when any instance has one.
    static func instances(_ instances: [Instance], showService: Bool = false, now: Date = Date()) -> String {
        var table = TableRenderer(
            (showService ? ["SERVICE"] : []) + ["ID", "STATE", "ADDRESS", "STARTED", "RESTARTS", "PROBES", "MESSAGE"])
        for instance in instances {
            table.append(
                (showService ? [instance.service.rawValue] : []) + [
                    instance.id, instance.state.rawValue, instance.address ?? "-",
                    instance.startedAt.map { Humanize.age(of: $0, now: now) } ?? "-", String(instance.restarts),
                    probes(instance.probes), instance.message.map(oneLine) ?? "",
                ])
        }
        table.dropEmptyColumns(["PROBES", "MESSAGE"])
        return table.render()
    }

    /// `startup ok, readiness failing 2/3` — the latest outcome of each probe.
    static func probes(_ results: [ProbeResult]) -> String {
        results.map { result in
            result.passing
                ? "\(result.kind) ok" + (result.message != nil ? " (last: \(oneLine(result.message!)))" : "")
                : "\(result.kind) failing \(result.consecutive)x: \(oneLine(result.message ?? ""))"
        }.joined(separator: ", ")
    }

    /// `Events:` and one line per event, newest last: age, type, reason, object, message.
    static func events(_ events: [ServiceEvent], limit: Int = 20, now: Date = Date()) -> String {
        var out = "\nEvents:\n"
        guard !events.isEmpty else { return out + "  none\n" }
        var table = TableRenderer(["AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"])
        for event in events.suffix(limit) {
            let age = Humanize.age(of: event.lastAt, now: now) + (event.count > 1 ? " (x\(event.count))" : "")
            table.append([
                age, event.kind.rawValue, event.reason, event.instance ?? event.revision ?? event.service.rawValue,
                oneLine(event.message),
            ])
        }
        for line in table.render().split(separator: "\n") { out += "  " + line + "\n" }
        return out
    }

    /// `NAME SERVICE TRAFFIC TAGS READY INSTANCES IMAGE DIGEST CREATED`.
    static func revisions(_ revisions: [RevisionSummary], now: Date = Date()) -> String {
        var table = TableRenderer([
            "NAME", "SERVICE", "TRAFFIC", "TAGS", "READY", "INSTANCES", "IMAGE", "DIGEST", "CREATED",
        ])
        for revision in revisions {
            table.append([
                revision.name, revision.service.rawValue, "\(revision.trafficPercent)%",
                revision.tags.isEmpty ? "-" : revision.tags.joined(separator: ","),
                revision.ready ? "yes" : revision.failure != nil ? "failed" : "no",
                String(revision.instances), revision.image, Humanize.shortDigest(revision.imageDigest),
                Humanize.age(of: revision.createdAt, now: now),
            ])
        }
        return table.render()
    }

    /// A revision's settings and state as `Label: value` lines.
    static func describe(_ revision: RevisionSummary, now: Date = Date()) -> String {
        let spec = revision.spec
        var lines: [(String, String)] = [
            ("Name", revision.name), ("Service", revision.service.rawValue), ("Image", spec.image),
            ("Digest", revision.imageDigest), ("Traffic", "\(revision.trafficPercent)%"),
            ("Tags", revision.tags.isEmpty ? "-" : revision.tags.joined(separator: ", ")),
            ("Ready", revision.ready ? "yes" : revision.failure != nil ? "failed" : "no"),
            ("Instances", String(revision.instances)),
        ]
        if let failure = revision.failure {
            lines.append(("Failure", "\(failure.reason.rawValue): \(oneLine(failure.message))"))
            for (index, line) in failure.logTail.enumerated() { lines.append((index == 0 ? "Last log" : "", line)) }
        }
        lines +=
            templateLines(spec) + [
                ("Scaling", scalingSummary(spec.scaling)), ("Timeouts", timeoutsSummary(spec.timeouts)),
            ] + probeLines(spec.probes) + [
                (
                    "Created",
                    "\(Humanize.timestamp(revision.createdAt)) (\(Humanize.age(of: revision.createdAt, now: now)))"
                )
            ]
        return labelled(lines)
    }

    /// Port and its protocol, command, args, env, memory and CPU of a template.
    private static func templateLines(_ spec: ServiceSpec) -> [(String, String)] {
        var lines: [(String, String)] = [("Port", "\(spec.port) (\(spec.portProtocol))")]
        if let command = spec.command { lines.append(("Command", shellWords(command))) }
        if let args = spec.args { lines.append(("Args", shellWords(args))) }
        if spec.env.isEmpty {
            lines.append(("Env", "-"))
        } else {
            for (index, variable) in spec.env.enumerated() {
                lines.append((index == 0 ? "Env" : "", "\(variable.name)=\(variable.value)"))
            }
        }
        lines.append(("Memory", spec.memory?.description ?? "unlimited"))
        lines.append(("CPU", spec.cpu?.description ?? "unlimited"))
        return lines
    }

    /// One line per configured probe, in gcloud's flag syntax.
    static func probeLines(_ probes: Probes) -> [(String, String)] {
        Probe.Kind.allCases.compactMap { kind in
            guard let probe = probes[kind] else { return nil }
            var parts: [String] = []
            switch probe.action {
            case .httpGet(let get)?:
                parts.append("httpGet.path=\(get.path)")
                if let port = get.port { parts.append("httpGet.port=\(port)") }
            case .tcpSocket(let socket)?: parts.append("tcpSocket.port=\(socket.port.map(String.init) ?? "$PORT")")
            case .exec(let exec)?: parts.append("exec.command=\(exec.command.joined(separator: " "))")
            case nil: break
            }
            parts.append(
                "initialDelaySeconds=\(probe.initialDelaySeconds),periodSeconds=\(probe.periodSeconds),timeoutSeconds=\(probe.timeoutSeconds),failureThreshold=\(probe.failureThreshold),successThreshold=\(probe.successThreshold)"
            )
            return (
                "\(kind.rawValue.prefix(1).uppercased())\(kind.rawValue.dropFirst()) probe",
                parts.joined(separator: ",")
            )
        }
    }

    static func timeoutsSummary(_ timeouts: RequestTimeouts) -> String {
        "request \(timeouts.request), response start \(timeouts.responseStart), idle \(timeouts.idle)"
    }

    /// `Label: value` lines with the values aligned; an empty label continues the line above.
    private static func labelled(_ lines: [(String, String)]) -> String {
        let width = (lines.map(\.0.count).max() ?? 0) + 2
        return lines.map { label, value in
            let head = label.isEmpty ? "" : label + ":"
            return head + String(repeating: " ", count: width - head.count) + value + "\n"
        }.joined()
    }

    static func images(_ images: [ImageSummary], now: Date = Date()) -> String {
        var table = TableRenderer(["NAME", "DIGEST", "SIZE", "CREATED"])
        for image in images {
            table.append([
                image.name, Humanize.shortDigest(image.digest), Humanize.size(image.size),
                Humanize.age(of: image.createdAt, now: now),
            ])
        }
        return table.render()
    }

    /// `REVISION PERCENT TAG URL`, one line per traffic target, `latest` resolved.
    static func traffic(_ service: Service) -> String {
        var table = TableRenderer(["REVISION", "PERCENT", "TAG", "URL"])
        for target in service.trafficStatus {
            table.append([
                target.revision + (target.latest ? " (latest)" : ""), "\(target.percent)%", target.tag ?? "-",
                target.url ?? (target.percent > 0 ? service.url : "-"),
            ])
        }
        return table.render()
    }

    /// A service's spec and state as `Label: value` lines, then its instances.
    static func describe(_ service: Service, instances: [Instance], now: Date = Date()) -> String {
        let spec = service.spec
        var lines: [(String, String)] = [
            ("Name", service.name.rawValue),
            ("URL", service.url),
            ("Revision", service.latestRevision),
            ("Image", spec.image),
            ("Digest", service.imageDigest),
        ]
        lines +=
            templateLines(spec) + [
                ("Ready", service.latestReadyRevision == service.latestRevision ? "yes" : "no"),
                ("Instances", "\(service.readyInstances) ready"),
                ("Scaling", scalingSummary(spec.scaling)),
                ("Timeouts", timeoutsSummary(spec.timeouts)),
            ] + probeLines(spec.probes) + [
                (
                    "Created",
                    "\(Humanize.timestamp(service.createdAt)) (\(Humanize.age(of: service.createdAt, now: now)))"
                ),
                (
                    "Updated",
                    "\(Humanize.timestamp(service.updatedAt)) (\(Humanize.age(of: service.updatedAt, now: now)))"
                ),
            ]
        if let message = service.message { lines.append(("Message", oneLine(message))) }
        if let rollout = service.rollout {
            var text =
                "\(rollout.from) → \(rollout.to): \(rollout.state.rawValue), \(rollout.percent)% "
                + "(step \(rollout.policy.step)% every \(rollout.policy.interval); \(rollout.serverErrors)/\(rollout.responses) 5xx, "
                + "limit \(rollout.policy.maxErrorRate.formatted())%)"
            if let message = rollout.message { text += ": " + oneLine(message) }
            lines.append(("Rollout", text))
        }
        var out = labelled(lines)
        out += "\nTraffic:\n"
        for line in Self.traffic(service).split(separator: "\n") { out += "  " + line + "\n" }
        out += "\nInstances:\n"
        if instances.isEmpty {
            out += "  none\n"
        } else {
            for line in Self.instances(instances, now: now).split(separator: "\n") {
                out += "  " + line + "\n"
            }
        }
        return out
    }

    /// `min 0, max unlimited, concurrency 10, target 7 (70 %), …` on one line.
    static func scalingSummary(_ scaling: ScalingSpec) -> String {
        let max = scaling.maxInstances == 0 ? "unlimited" : String(scaling.maxInstances)
        let concurrency = scaling.concurrency == 0 ? "unlimited" : String(scaling.concurrency)
        let target = scaling.effectiveTarget.formatted()
        let utilization = scaling.targetUtilization.formatted()
        return
            "min \(scaling.minInstances), max \(max), initial \(scaling.initialInstances), concurrency \(concurrency), "
            + "target \(target) at \(utilization) %, window \(scaling.window), to zero after \(scaling.scaleToZeroGrace), "
            + "freeze after \(scaling.freezeAfter), frozen for \(scaling.frozenRetention)"
    }

    /// Words joined by spaces, quoted when they would not read back as one word.
    static func shellWords(_ words: [String]) -> String {
        words.map { word in
            let plain = !word.isEmpty && word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0) }
            return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
