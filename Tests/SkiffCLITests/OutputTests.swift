import Foundation
import SkiffModel
import Testing

@testable import SkiffCLI

/// Tables for people, the API's objects unchanged for scripts.
struct OutputTests {
    @Test func instancesJSONIsTheAPIArray() throws {
        let text = try #require(try OutputFormat.json.encode(Fixtures.instances))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(parsed.count == 2)
        let first = parsed[0]
        for key in ["id", "service", "revision", "state", "address", "startedAt", "restarts"] {
            #expect(first[key] != nil, "missing \(key)")
        }
        #expect(first["state"] as? String == "ready")
        #expect(first["startedAt"] as? String == "2026-11-18T11:03:40Z")
        #expect(first["restarts"] as? Int == 0)
        #expect(text.contains("\n  {"), "pretty printed")
        // Round-trips into the model.
        #expect(try APIClient.decoder.decode([Instance].self, from: Data(text.utf8)) == Fixtures.instances)
    }

    @Test func serviceJSONKeepsAPIFieldNames() throws {
        let text = try #require(try OutputFormat.json.encode(Fixtures.service))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["latestRevision"] as? String == "web-00002")
        #expect(parsed["readyInstances"] as? Int == 2)
        let spec = try #require(parsed["spec"] as? [String: Any])
        #expect(spec["memory"] as? String == "128Mi")
        #expect(spec["cpu"] as? String == "500m")
        let scaling = try #require(spec["scaling"] as? [String: Any])
        #expect(scaling["minInstances"] as? Int == 2)
        #expect(scaling["window"] as? String == "1m")
        let timeouts = try #require(spec["timeouts"] as? [String: Any])
        #expect(timeouts["request"] as? String == "5m")
    }

    @Test func yamlPrintsTheSameFields() throws {
        let text = try #require(try OutputFormat.yaml.encode([Fixtures.image]))
        #expect(text.contains("name: hello:v1"))
        #expect(text.contains("size: 12900000"))
        #expect(text.contains("digest: sha256:cdcd"))
    }

    @Test func tableFormatLeavesRenderingToTheCommand() throws {
        #expect(try OutputFormat.table.encode(Fixtures.instances) == nil)
    }

    @Test func tableAlignsColumnsAndTrimsTrailingSpace() {
        var table = TableRenderer(["NAME", "X", "LAST"])
        table.append(["a", "long value", ""])
        table.append(["longer-name", "b", "c"])
        #expect(
            table.render() == """
                NAME          X            LAST
                a             long value
                longer-name   b            c

                """)
    }

    @Test func instancesTableShowsMessageOnlyWhenAnyInstanceHasOne() {
        let plain = Tables.instances(Fixtures.instances, now: Fixtures.now)
        #expect(
            plain == """
                ID                STATE      ADDRESS          STARTED   RESTARTS
                web-00002-a1b2c   ready      10.88.0.2:8080   3m ago    0
                web-00002-d3e4f   starting   -                -         1

                """)
        var failed = Fixtures.instances
        failed[1].state = .failed
        failed[1].message = "exited with status 1\nafter 3 restarts"
        let withMessage = Tables.instances(failed, now: Fixtures.now)
        #expect(withMessage.hasPrefix("ID                STATE    ADDRESS          STARTED   RESTARTS   MESSAGE\n"))
        #expect(
            withMessage.contains("failed   -                -         1          exited with status 1 after 3 restarts")
        )
    }

    @Test func servicesAndImagesTables() {
        let services = Tables.services([Fixtures.service], now: Fixtures.now)
        #expect(
            services.hasPrefix(
                "NAME   READY   INSTANCES   REVISION    IMAGE      URL                          UPDATED\n"))
        #expect(
            services.contains("web    yes     2           web-00002   hello:v1   http://web.localhost:8080/   3m ago"))
        let images = Tables.images([Fixtures.image], now: Fixtures.now)
        #expect(images.contains("hello:v1   sha256:cdcdcdcdcdcd…   12.3 MiB   30s ago"))
    }

    @Test func describeShowsSpecRevisionDigestURLAndInstances() {
        var service = Fixtures.service
        service.spec.command = ["/bin/sh", "-c"]
        service.spec.args = ["echo hi"]
        service.message = "instance web-00002-d3e4f restarted"
        let text = Tables.describe(service, instances: Fixtures.instances, now: Fixtures.now)
        for line in [
            "Name:      web", "URL:       http://web.localhost:8080/", "Revision:  web-00002",
            "Digest:    sha256:abab", "Image:     hello:v1", "Command:   /bin/sh -c", "Args:      'echo hi'",
            "Env:       GREETING=hi", "Memory:    128Mi", "CPU:       500m", "Ready:     yes", "Instances: 2 ready",
            "Scaling:   min 2, max unlimited, initial 1, concurrency unlimited, target 100 at 70 %, window 1m",
            "Updated:   2026-11-18T11:03:40Z (3m ago)", "Message:   instance web-00002-d3e4f restarted",
            "Instances:\n  ID ", "  web-00002-a1b2c   ready",
        ] {
            #expect(text.contains(line), "missing \(line) in\n\(text)")
        }
    }

    @Test(
        arguments: [
            (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (12_900_000, "12.3 MiB"), (3 << 30, "3.0 GiB"),
        ] as [(Int64, String)])
    func sizesUseBinaryUnits(_ bytes: Int64, _ text: String) {
        #expect(Humanize.size(bytes) == text)
    }

    @Test(
        arguments: [
            (0, "just now"), (-5, "just now"), (42, "42s ago"), (180, "3m ago"), (7200, "2h ago"), (90000, "1d ago"),
        ] as [(Double, String)])
    func agesAreRelative(_ seconds: Double, _ text: String) {
        #expect(Humanize.age(of: Fixtures.now.addingTimeInterval(-seconds), now: Fixtures.now) == text)
    }

    @Test func errorsAreOneLine() {
        let (text, status) = SkiffCommand.report(for: CLIError(.api, "service \"x\" not found"))
        #expect(text == "error: service \"x\" not found")
        #expect(status != 0)
        #expect(SkiffCommand.report(for: CLIError(.api, "two\nlines")).text == "error: two lines")
    }
}

@Suite struct RevisionOutputTests {
    @Test func revisionsTableShowsTrafficReadinessAndInstances() {
        let revision = RevisionSummary(
            name: "web-00002", service: "web", image: "hello:v2",
            imageDigest: "sha256:" + String(repeating: "ef", count: 32),
            createdAt: Fixtures.now.addingTimeInterval(-120), trafficPercent: 100, ready: true, instances: 2,
            spec: Fixtures.spec)
        var old = revision
        old.name = "web-00001"
        old.trafficPercent = 0
        old.ready = false
        old.instances = 0
        let table = Tables.revisions([old, revision], now: Fixtures.now)
        #expect(table.hasPrefix("NAME        SERVICE   TRAFFIC   TAGS   READY   INSTANCES   IMAGE      DIGEST"))
        #expect(table.contains("web-00001   web       0%        -      no      0"))
        #expect(
            table.contains(
                "web-00002   web       100%      -      yes     2           hello:v2   sha256:efefefefefef…   2m ago"))
        let described = Tables.describe(revision, now: Fixtures.now)
        #expect(described.contains("Traffic:   100%"))
        #expect(described.contains("Scaling:   min 2"))
    }

    @Test func failedRevisionsProbesAndEventsRead() {
        var failed = RevisionSummary(
            name: "web-00003", service: "web", image: "hello:v3",
            imageDigest: "sha256:" + String(repeating: "ab", count: 32),
            createdAt: Fixtures.now, trafficPercent: 0, ready: false, instances: 0, spec: Fixtures.spec)
        failed.failure = RevisionFailure(
            reason: .crash, message: "the process exited before it became ready", logTail: ["boom"])
        #expect(Tables.revisions([failed], now: Fixtures.now).contains("failed"))
        let described = Tables.describe(failed, now: Fixtures.now)
        #expect(described.contains("Failure:"))
        #expect(described.contains("crash: the process exited before it became ready"))
        #expect(described.contains("Last log:  boom"))

        #expect(
            Tables.probes([
                ProbeResult(kind: .startup, passing: true, consecutive: 1),
                ProbeResult(kind: .readiness, passing: false, consecutive: 3, message: "GET /ready answered 503"),
            ]) == "startup ok, readiness failing 3x: GET /ready answered 503")

        var event = ServiceEvent(
            kind: .warning, reason: "Unhealthy", message: "Readiness probe failed (1/3): GET /ready answered 503",
            service: "web",
            revision: "web-00002", instance: "web-00002-abcde", at: Fixtures.now.addingTimeInterval(-60))
        event.count = 4
        let events = Tables.events([event], now: Fixtures.now)
        #expect(events.hasPrefix("\nEvents:\n  AGE"))
        #expect(
            events.contains("1m ago (x4)   warning   Unhealthy   web-00002-abcde   Readiness probe failed (1/3)"),
            "\(events)")
        #expect(Tables.events([], now: Fixtures.now) == "\nEvents:\n  none\n")
    }
}
