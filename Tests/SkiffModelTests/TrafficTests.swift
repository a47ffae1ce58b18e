import Foundation
import SkiffModel
import Testing

@Suite struct TrafficTests {
    func invalid(_ traffic: [TrafficTarget], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try traffic.validate(service: "web")
            Issue.record("expected an error containing \"\(fragment)\"", sourceLocation: sourceLocation)
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func validTrafficPasses() throws {
        try TrafficTarget.allToLatest.validate(service: "web")
        try [TrafficTarget.revision("web-00001", 90), .latest(10, tag: "next"), .revision("web-00001", 0, tag: "old")]
            .validate(service: "web")
    }

    @Test func invalidTrafficIsExplained() {
        invalid([], "at least one target")
        invalid([.revision("web-00001", 90)], "sum to 100, not 90 (web-00001=90)")
        invalid([.revision("web-00001", 101), .latest(-1)], "between 0 and 100")
        invalid([.revision("api-00001", 100)], "must start with the service name")
        invalid([.revision("web-00001", 50, tag: "a"), .latest(50, tag: "a")], "tag a is given twice")
        invalid([.latest(100, tag: "Canary")], "invalid tag \"Canary\"")
        invalid([.latest(100, tag: String(repeating: "t", count: 58))], "longer than the 63 characters")
        invalid([TrafficTarget(revisionName: nil, latestRevision: false, percent: 100)], "needs a revisionName")
        invalid([TrafficTarget(revisionName: "web-00001", latestRevision: true, percent: 100)], "one or the other")
    }

    /// Knative's defaults: no revisionName means latest; no percent means 0.
    @Test func decodesKnativeDefaults() throws {
        let json = #"[{"percent": 100}, {"revisionName": "web-00001", "tag": "old"}]"#
        let traffic = try JSONDecoder().decode([TrafficTarget].self, from: Data(json.utf8))
        #expect(traffic == [.latest(100), .revision("web-00001", 0, tag: "old")])
    }

    @Test func resolvesLatestToTheReadyRevision() {
        let traffic: [TrafficTarget] = [.latest(90), .revision("web-00001", 10, tag: "old")]
        #expect(
            traffic.resolved(latestReady: "web-00003") == [
                ResolvedTarget(revision: "web-00003", percent: 90, latest: true),
                ResolvedTarget(revision: "web-00001", percent: 10, tag: "old"),
            ])
    }

    // MARK: Deploys

    @Test func deployGivesLatestEverythingAndKeepsTags() throws {
        let current: [TrafficTarget] = [.revision("web-00001", 90), .revision("web-00002", 10, tag: "canary")]
        let after = try current.afterDeploy(of: "web-00003", options: DeployOptions(), latestReady: "web-00002")
        #expect(after == [.latest(100), .revision("web-00002", 0, tag: "canary")])
    }

    @Test func deployWithNoTrafficPinsLatestAndTagsTheNewRevision() throws {
        let after = try TrafficTarget.allToLatest.afterDeploy(
            of: "web-00003", options: DeployOptions(noTraffic: true, tag: "canary"), latestReady: "web-00002")
        #expect(after == [.revision("web-00002", 100), .revision("web-00003", 0, tag: "canary")])
        try after.validate(service: "web")
    }

    @Test func noTrafficNeedsAReadyRevision() {
        #expect(throws: ModelError.self) {
            try TrafficTarget.allToLatest.afterDeploy(
                of: "web-00001", options: DeployOptions(noTraffic: true), latestReady: nil)
        }
    }

    @Test func tagMovesToTheNewRevision() throws {
        let current: [TrafficTarget] = [.latest(100), .revision("web-00001", 0, tag: "canary")]
        let after = try current.afterDeploy(
            of: "web-00002", options: DeployOptions(tag: "canary"), latestReady: "web-00001")
        #expect(after == [.latest(100), .revision("web-00002", 0, tag: "canary")])
    }

    @Test func deployRequestIsATemplateWithOptionsBeside() throws {
        let request = DeployRequest(
            spec: ServiceSpec(image: "hello:v1"), options: DeployOptions(revisionName: "web-blue", noTraffic: true))
        let data = try JSONEncoder().encode(request)
        #expect(try JSONDecoder().decode(DeployRequest.self, from: data) == request)
        #expect(try JSONDecoder().decode(ServiceSpec.self, from: data) == request.spec)
        let bare = try JSONDecoder().decode(DeployRequest.self, from: Data(#"{"image":"hello:v1"}"#.utf8))
        #expect(bare.options == DeployOptions())
    }

    @Test func deployOptionsAreValidated() {
        #expect(throws: ModelError.self) { try DeployOptions(revisionName: "other-v2").validate(service: "web") }
        #expect(throws: ModelError.self) { try DeployOptions(tag: "-x").validate(service: "web") }
        #expect(throws: ModelError.self) {
            try DeployOptions(noTraffic: true, traffic: TrafficTarget.allToLatest).validate(service: "web")
        }
        #expect(throws: Never.self) {
            try DeployOptions(revisionName: "web-blue", tag: "blue").validate(service: "web")
        }
    }

    // MARK: skiff traffic

    @Test func sharesReplaceEveryPercentAndKeepTags() throws {
        let current: [TrafficTarget] = [.latest(100), .revision("web-00001", 0, tag: "old")]
        let edit = TrafficEdit(shares: [.init(.revision("web-00003"), 10), .init(.revision("web-00002"), 90)])
        let after = try edit.applied(to: current)
        #expect(
            after == [.revision("web-00001", 0, tag: "old"), .revision("web-00003", 10), .revision("web-00002", 90)])
        try after.validate(service: "web")
    }

    @Test func sharesGoToTheUntaggedTargetOfTheRevision() throws {
        let current: [TrafficTarget] = [.revision("web-00002", 0, tag: "b"), .revision("web-00002", 100)]
        let after = try TrafficEdit(shares: [.init(.revision("web-00002"), 100)]).applied(to: current)
        #expect(after == current)
    }

    @Test func tagAndUntag() throws {
        let current: [TrafficTarget] = [.revision("web-00002", 100, tag: "old")]
        let edit = TrafficEdit(
            tags: [.init(.revision("web-00003"), tag: "canary"), .init(.latest, tag: "current")], untags: ["old"])
        let after = try edit.applied(to: current)
        #expect(
            after == [
                .revision("web-00002", 100), .revision("web-00003", 0, tag: "canary"), .latest(0, tag: "current"),
            ])
    }

    @Test func movingATagTakesItFromItsRevision() throws {
        let current: [TrafficTarget] = [.latest(100), .revision("web-00001", 0, tag: "canary")]
        let after = try TrafficEdit(tags: [.init(.revision("web-00002"), tag: "canary")]).applied(to: current)
        #expect(after == [.latest(100), .revision("web-00002", 0, tag: "canary")])
    }

    @Test func badEditsAreExplained() {
        #expect(throws: ModelError.self) { try TrafficEdit(untags: ["nope"]).applied(to: TrafficTarget.allToLatest) }
        #expect(throws: ModelError.self) {
            try TrafficEdit(shares: [.init(.latest, 50), .init(.latest, 50)]).applied(to: TrafficTarget.allToLatest)
        }
    }

    @Test func subjects() {
        #expect(TrafficEdit.Subject("@latest") == .latest)
        #expect(TrafficEdit.Subject("web-00002") == .revision("web-00002"))
    }
}

@Suite struct ProbeTests {
    @Test func parsesGcloudSyntax() throws {
        let probe = try Probe(
            parsing: "httpGet.path=/ready,httpGet.port=9000,periodSeconds=2,failureThreshold=5", kind: .readiness)
        #expect(probe.httpGet == HTTPGetAction(path: "/ready", port: 9000))
        #expect(probe.periodSeconds == 2 && probe.failureThreshold == 5 && probe.timeoutSeconds == 1)
        #expect(
            try Probe(parsing: "exec.command=cat /tmp/ready", kind: .liveness).exec?.command == ["cat", "/tmp/ready"])
        #expect(try Probe(parsing: "failureThreshold=30", kind: .startup).tcpSocket == TCPSocketAction())
    }

    @Test func badProbesAreExplained() {
        func message(_ text: String, _ kind: Probe.Kind) -> String {
            do {
                _ = try Probe(parsing: text, kind: kind)
                return ""
            } catch {
                return error.message
            }
        }
        #expect(message("httpGet.path=ready", .readiness).contains("must start with /"))
        #expect(message("periodSeconds=x", .readiness).contains("periodSeconds must be a whole number"))
        #expect(message("grpc.port=1", .readiness).contains("unknown key grpc.port"))
        #expect(message("successThreshold=2", .liveness).contains("successThreshold must be 1 for a liveness probe"))
        #expect(message("httpGet.path=/,tcpSocket.port=80", .startup).contains("only one of"))
        #expect(message("failureThreshold=0", .startup).contains("failureThreshold must be at least 1"))
    }

    @Test func probesRoundTripInTheSpecAndStayOutWhenUnset() throws {
        var spec = ServiceSpec(image: "hello:v1")
        let bare = try JSONEncoder().encode(spec)
        #expect(!String(decoding: bare, as: UTF8.self).contains("probes"))
        spec.probes.readiness = Probe(
            httpGet: HTTPGetAction(path: "/ready", httpHeaders: [HTTPHeader(name: "X-Probe", value: "1")]))
        let decoded = try JSONDecoder().decode(ServiceSpec.self, from: try JSONEncoder().encode(spec))
        #expect(decoded == spec)
        // Kubernetes' defaults for what a manifest leaves out.
        let minimal = try JSONDecoder().decode(Probe.self, from: Data(#"{"tcpSocket":{}}"#.utf8))
        #expect(minimal == Probe(tcpSocket: TCPSocketAction()))
    }
}

@Suite struct RolloutTests {
    @Test func errorsAreJudgedOnlyOnEnoughAnswers() {
        var status = RolloutStatus(from: "web-00001", to: "web-00002", policy: RolloutPolicy(step: 30, maxErrorRate: 5))
        status.responses = RolloutPolicy.minimumSample - 1
        status.serverErrors = 10
        #expect(!status.errorsExceeded, "too few answers to judge")
        status.responses = 100
        status.serverErrors = 5
        #expect(!status.errorsExceeded, "5 % is not over 5 %")
        status.serverErrors = 6
        #expect(status.errorsExceeded)
        #expect(status.nextPercent == 30)
        status.percent = 90
        #expect(status.nextPercent == 100)
    }

    /// A split in place when the rollout starts shrinks evenly with each step, and a rollback
    /// restores it exactly, tags included.
    @Test func aSplitInPlaceShrinksEvenlyAndARollbackRestoresIt() throws {
        let base: [TrafficTarget] = [
            .revision("web-00001", 90), .revision("web-00002", 10, tag: "canary"),
            .revision("web-00003", 0, tag: "next"),
        ]
        var status = RolloutStatus(from: "web-00002", to: "web-00003", policy: RolloutPolicy(step: 25), base: base)
        let current = base
        #expect(status.baseDescription == "web-00001=90%, web-00002=10%")

        status.percent = 25
        let first = status.traffic(current: current)
        #expect(
            first == [
                .revision("web-00001", 68), .revision("web-00002", 7, tag: "canary"),
                .revision("web-00003", 25, tag: "next"),
            ])
        try first.validate(service: "web")

        status.percent = 95
        let late = status.traffic(current: current)
        #expect(
            late == [
                .revision("web-00001", 5), .revision("web-00002", 0, tag: "canary"),
                .revision("web-00003", 95, tag: "next"),
            ])
        let untagged: [TrafficTarget] = [.revision("web-00001", 90), .revision("web-00002", 10)]
        status.base = untagged
        #expect(
            status.traffic(current: untagged) == [.revision("web-00001", 5), .revision("web-00003", 95)],
            "a share scaled to 0 % goes")
        status.base = base

        status.percent = 100
        #expect(
            status.traffic(current: current) == [
                .latest(), .revision("web-00002", 0, tag: "canary"), .revision("web-00003", 0, tag: "next"),
            ])

        status.percent = 0
        status.state = .rolledBack
        #expect(status.traffic(current: first) == base)
    }

    @Test func scalingKeepsTheSumAndFavoursLargerRemainders() throws {
        let shares: [TrafficTarget] = [
            .revision("web-00001", 33), .revision("web-00002", 33), .revision("web-00003", 34),
        ]
        for total in 0...100 {
            let scaled = shares.scaled(to: total)
            #expect(scaled.reduce(0) { $0 + $1.percent } == total, "total \(total): \(scaled)")
            #expect(scaled.allSatisfy { $0.percent <= 34 })
        }
        #expect(shares.scaled(to: 50).map(\.percent) == [17, 16, 17], "a tie goes to the earlier target")
        #expect(shares.scaled(to: 100) == shares)
    }

    /// Rollouts stored before the base was kept start from `from` alone, as they did.
    @Test func aRolloutWithoutABaseMovesFromItsFromRevision() throws {
        var status = RolloutStatus(from: "web-00001", to: "web-00002", policy: RolloutPolicy())
        let current: [TrafficTarget] = [.revision("web-00001", 100), .revision("web-00001", 0, tag: "old")]
        status.percent = 10
        #expect(
            status.traffic(current: current) == [
                .revision("web-00001", 90), .revision("web-00001", 0, tag: "old"), .revision("web-00002", 10),
            ])
        status.percent = 0
        #expect(
            status.traffic(current: current) == [.revision("web-00001", 100), .revision("web-00001", 0, tag: "old")])
        #expect(status.baseDescription == "web-00001")
        let stored = try JSONDecoder().decode(RolloutStatus.self, from: JSONEncoder().encode(status))
        #expect(stored.base == nil)
    }

    @Test func policiesAreValidated() {
        #expect(throws: ModelError.self) { try RolloutPolicy(step: 0).validate() }
        #expect(throws: ModelError.self) { try RolloutPolicy(interval: .milliseconds(500)).validate() }
        #expect(throws: ModelError.self) { try RolloutPolicy(maxErrorRate: 101).validate() }
        #expect(throws: ModelError.self) {
            try DeployOptions(noTraffic: true, rollout: RolloutPolicy()).validate(service: "web")
        }
        #expect(throws: Never.self) {
            try DeployOptions(tag: "next", rollout: RolloutPolicy()).validate(service: "web")
        }
    }
}
