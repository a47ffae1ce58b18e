import Foundation
import SkiffModel
import Testing

@testable import SkiffController

/// Gradual rollouts tick by tick: time is a `Duration` from an origin the test picks, and the
/// traffic each step sets is fed back as the service's traffic, as the controller does.
@Suite struct RolloutMachineTests {
    static let old = "web-00001"
    static let new = "web-00002"
    static let policy = RolloutPolicy(step: 30, interval: .seconds(10), maxErrorRate: 5)
    static let startedAt = Date(timeIntervalSince1970: 1_700_000_000)

    /// A rollout from `old` to `new` over `base`, with the traffic the service has meanwhile.
    struct Harness {
        var machine: RolloutMachine
        var traffic: [TrafficTarget]
        var latestReady: String? = RolloutMachineTests.old
        var latestRevision: String? = RolloutMachineTests.new
        var latestFailure: RevisionFailure?
        var counters: RolloutMachine.Counters?
        var instances: [Instance] = []

        init(
            base: [TrafficTarget] = [.revision(RolloutMachineTests.old, 100)],
            policy: RolloutPolicy = RolloutMachineTests.policy
        ) {
            let started = RolloutMachine.start(
                from: RolloutMachineTests.old, to: RolloutMachineTests.new, base: base, policy: policy,
                startedAt: RolloutMachineTests.startedAt)
            machine = started.machine
            traffic = base
        }

        var observation: RolloutMachine.Observation {
            RolloutMachine.Observation(
                latestRevision: latestRevision, latestFailure: latestFailure, latestReady: latestReady,
                traffic: traffic, counters: counters, instances: instances)
        }

        /// One sample at `now`: the machine's actions, with the traffic it set applied.
        mutating func tick(_ now: Duration) -> [RolloutMachine.Action] {
            let actions = machine.tick(now: now, observation: observation)
            for case .setTraffic(let traffic, _) in actions { self.traffic = traffic }
            return actions
        }

        /// The new revision's answers and 5xx answers as the gateway counts them.
        mutating func answered(_ responses: Int, errors: Int) {
            counters = RolloutMachine.Counters(responses: responses, serverErrors: errors)
        }

        /// The new revision's share in the traffic set last.
        var share: Int { traffic.filter { $0.revisionName == RolloutMachineTests.new }.map(\.percent).reduce(0, +) }

        /// Takes the first step at `now`.
        mutating func ready(at now: Duration) {
            latestReady = RolloutMachineTests.new
            _ = tick(now)
        }
    }

    static func step(_ percent: Int) -> RolloutMachine.Action {
        .record(
            .init(
                kind: .normal, reason: "RolloutStep", message: "\(new) now takes \(percent)% of the traffic",
                revision: new))
    }

    static func instance(
        _ id: String, _ state: InstanceState = .ready, restarts: Int = 0, message: String? = nil,
        probes: [ProbeResult] = []
    ) -> Instance {
        Instance(
            id: id, service: "web", revision: new, state: state, restarts: restarts, message: message, probes: probes)
    }

    // MARK: Steps

    @Test func startingRecordsTheRolloutAndItsPlan() {
        let (machine, actions) = RolloutMachine.start(
            from: Self.old, to: Self.new, base: [.revision(Self.old, 100)], policy: Self.policy,
            startedAt: Self.startedAt)
        #expect(machine.status.state == .waiting)
        #expect(machine.status.percent == 0)
        #expect(machine.status.startedAt == Self.startedAt)
        #expect(
            actions == [
                .persist,
                .record(
                    .init(
                        kind: .normal, reason: "RolloutStarted",
                        message:
                            "moving traffic from web-00001 to web-00002 by 30% every 10s once it is ready; back to web-00001 above 5% 5xx or on a probe failure",
                        revision: Self.new)),
            ])
    }

    @Test func theFirstStepComesOnceTheNewRevisionIsReady() {
        var rollout = Harness()
        for second in 0..<30 {
            #expect(rollout.tick(.seconds(second)).isEmpty, "waiting at \(second)s")
        }
        #expect(rollout.machine.status.state == .waiting)

        rollout.latestReady = Self.new
        let actions = rollout.tick(.seconds(30))
        #expect(
            actions == [
                .persist, .setTraffic([.revision(Self.old, 70), .revision(Self.new, 30)], fallback: nil), Self.step(30),
            ])
        #expect(rollout.machine.status.state == .progressing)
        #expect(rollout.machine.status.percent == 30)
    }

    @Test func oneStepPerIntervalUntilTheLatestServesAll() {
        var rollout = Harness()
        rollout.ready(at: .seconds(5))
        var shares: [Duration: Int] = [:]
        // Samples every 100 ms, as the scaling loop takes them.
        for tenth in 51...400 {
            let now = Duration.milliseconds(tenth * 100)
            let actions = rollout.tick(now)
            if actions.contains(.persist) { shares[now] = rollout.machine.status.percent }
        }
        #expect(shares == [.seconds(15): 60, .seconds(25): 90, .seconds(35): 100])
        #expect(rollout.machine.status.state == .finished)
        #expect(rollout.machine.status.message == "web-00002 serves all traffic")
        #expect(rollout.traffic == [.latest()], "the last step hands the traffic to latest, not to a fixed revision")
    }

    @Test func theLastStepSetsLatestAndSaysFinished() {
        var rollout = Harness(policy: RolloutPolicy(step: 60, interval: .seconds(10)))
        rollout.ready(at: .zero)
        #expect(rollout.share == 60)
        let actions = rollout.tick(.seconds(10))
        #expect(actions == [.persist, .setTraffic([.latest()], fallback: nil), Self.step(100), .finished])
        #expect(rollout.tick(.seconds(20)).isEmpty)
        #expect(!rollout.machine.isActive)
    }

    @Test func aLateSampleKeepsTheStepsOnTheirCadence() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        #expect(rollout.tick(.seconds(13)).contains(.persist), "the step due at 10 s, taken late")
        #expect(rollout.tick(.seconds(19)).isEmpty)
        #expect(rollout.tick(.seconds(20)).contains(.persist), "the next is due at 20 s, not 23 s")
        #expect(rollout.machine.status.percent == 90)
    }

    @Test func aSplitInPlaceShrinksEvenlyAndEveryStepSumsTo100() {
        let base: [TrafficTarget] = [.revision("web-00000", 90), .revision(Self.old, 10)]
        var rollout = Harness(base: base, policy: RolloutPolicy(step: 25, interval: .seconds(1)))
        rollout.ready(at: .zero)
        var splits = [rollout.traffic]
        for second in 1...3 {
            _ = rollout.tick(.seconds(second))
            splits.append(rollout.traffic)
        }
        #expect(
            splits == [
                [.revision("web-00000", 68), .revision(Self.old, 7), .revision(Self.new, 25)],
                [.revision("web-00000", 45), .revision(Self.old, 5), .revision(Self.new, 50)],
                [.revision("web-00000", 23), .revision(Self.old, 2), .revision(Self.new, 75)],
                [.latest()],
            ])
        for split in splits {
            #expect(split.map(\.percent).reduce(0, +) == 100, "\(split)")
        }
    }

    @Test func aTaggedNewRevisionTakesItsShareOnItsTag() {
        let base: [TrafficTarget] = [.revision(Self.old, 100), .revision(Self.new, 0, tag: "candidate")]
        var rollout = Harness(base: base)
        rollout.ready(at: .zero)
        #expect(rollout.traffic == [.revision(Self.old, 70), .revision(Self.new, 30, tag: "candidate")])
    }

    // MARK: Rollbacks

    @Test func fiveHundredsAboveTheAllowedShareRollBackOnlyAfterTwentyAnswers() {
        var rollout = Harness()
        // Answers before the new revision took traffic (through a tag) do not count.
        rollout.answered(100, errors: 50)
        rollout.ready(at: .zero)
        rollout.answered(119, errors: 69)
        #expect(rollout.tick(.seconds(1)).isEmpty, "19 answers, all 5xx: too few to judge")
        #expect(rollout.machine.status.responses == 19)
        #expect(rollout.machine.status.serverErrors == 19)
        #expect(rollout.machine.status.state == .progressing)

        rollout.answered(120, errors: 70)
        let actions = rollout.tick(.milliseconds(1100))
        let reason = "web-00002 answered 20 of 20 requests with 5xx (100.0%, over 5%)"
        #expect(
            actions == [
                .persist, .rolledBack(to: Self.old, because: reason),
                .record(
                    .init(
                        kind: .warning, reason: "RolledBack", message: "traffic back to web-00001: \(reason)",
                        revision: Self.new)),
                .setTraffic([.revision(Self.old, 100)], fallback: [.revision(Self.old, 100)]),
            ])
        #expect(rollout.machine.status.state == .rolledBack)
        #expect(rollout.machine.status.percent == 0)
        #expect(rollout.machine.status.message == reason)
        #expect(rollout.tick(.seconds(60)).isEmpty, "a rollback is final")
    }

    @Test(arguments: [(20, 1, false), (40, 2, false), (21, 2, true), (200, 11, true)])
    func theErrorShareMustExceedThePolicy(responses: Int, errors: Int, rollsBack: Bool) {
        var rollout = Harness()
        rollout.ready(at: .zero)
        rollout.answered(responses, errors: errors)
        _ = rollout.tick(.seconds(1))
        #expect((rollout.machine.status.state == .rolledBack) == rollsBack, "\(errors) of \(responses) over 5%")
    }

    @Test func aRollbackRestoresTheSplitItStartedFrom() {
        let base: [TrafficTarget] = [.revision("web-00000", 20), .revision(Self.old, 80), .latest(0, tag: "next")]
        var rollout = Harness(base: base)
        rollout.ready(at: .zero)
        rollout.instances = [Self.instance("web-00002-b", restarts: 1, message: "exited with status 1")]
        let actions = rollout.tick(.seconds(1))
        #expect(actions.contains(.setTraffic(base, fallback: [.revision(Self.old, 100), .latest(0, tag: "next")])))
        #expect(
            actions.contains(
                .record(
                    .init(
                        kind: .warning, reason: "RolledBack",
                        message:
                            "traffic back to web-00000=20%, web-00001=80%: instance web-00002-b of web-00002 restarted: exited with status 1",
                        revision: Self.new))))
        #expect(rollout.traffic == base)
    }

    @Test func aFailingProbeRollsBack() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        rollout.instances = [
            Self.instance("web-00002-a"),
            Self.instance(
                "web-00002-b",
                probes: [ProbeResult(kind: .readiness, passing: false, consecutive: 1, message: "HTTP 500")]),
        ]
        _ = rollout.tick(.seconds(1))
        #expect(rollout.machine.status.state == .rolledBack)
        #expect(
            rollout.machine.status.message == "instance web-00002-b of web-00002 fails its readiness probe: HTTP 500")
        #expect(rollout.traffic == [.revision(Self.old, 100)])
    }

    @Test func anUnreadyInstanceRollsBack() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        rollout.instances = [Self.instance("web-00002-a", .unready)]
        _ = rollout.tick(.seconds(1))
        #expect(
            rollout.machine.status.message == "instance web-00002-a of web-00002 fails its readiness probe: unready")
    }

    @Test func aRestartRollsBack() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        rollout.instances = [Self.instance("web-00002-a", restarts: 1)]
        _ = rollout.tick(.seconds(1))
        #expect(rollout.machine.status.state == .rolledBack)
        #expect(rollout.machine.status.message == "instance web-00002-a of web-00002 restarted: it exited")
    }

    @Test func healthyInstancesDoNotRollBack() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        rollout.instances = [
            Self.instance("web-00002-a", probes: [ProbeResult(kind: .readiness, passing: true, consecutive: 3)]),
            Self.instance("web-00002-b", .starting),
        ]
        #expect(rollout.tick(.seconds(1)).isEmpty)
        #expect(rollout.machine.status.state == .progressing)
    }

    @Test func probesAreNotJudgedBeforeTheFirstStep() {
        var rollout = Harness()
        rollout.instances = [Self.instance("web-00002-a", restarts: 2)]
        #expect(rollout.tick(.seconds(1)).isEmpty, "a waiting rollout leaves the new revision to its own startup")
        #expect(rollout.machine.status.state == .waiting)
    }

    // MARK: Cancelling

    @Test func aChangeByHandEndsTheRolloutWhereItStands() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        let actions = rollout.machine.cancel(because: "the traffic was changed by hand")
        #expect(
            actions == [
                .persist,
                .record(
                    .init(
                        kind: .warning, reason: "RolloutAborted", message: "the traffic was changed by hand",
                        revision: Self.new)),
            ])
        #expect(rollout.machine.status.state == .aborted)
        #expect(rollout.machine.status.percent == 30, "the traffic stays as it is")
        #expect(rollout.tick(.seconds(10)).isEmpty, "no more steps")
        #expect(rollout.machine.cancel(because: "again").isEmpty)
    }

    @Test func aNewDeployEndsTheRollout() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        rollout.latestRevision = "web-00003"
        let actions = rollout.tick(.seconds(1))
        #expect(actions.first == .persist)
        #expect(actions.count == 2)
        #expect(rollout.machine.status.state == .aborted)
        #expect(rollout.machine.status.message == "web-00002 is no longer the latest revision")
        #expect(!actions.contains { if case .setTraffic = $0 { true } else { false } })
    }

    @Test func aDeletedServiceEndsTheRollout() {
        var rollout = Harness()
        rollout.latestRevision = nil
        _ = rollout.tick(.seconds(1))
        #expect(rollout.machine.status.state == .aborted)
    }

    @Test func aFailedNewRevisionEndsTheRolloutWithTheTrafficOnTheOldOne() {
        var rollout = Harness()
        rollout.latestFailure = RevisionFailure(reason: .crash, message: "exited with status 1")
        _ = rollout.tick(.seconds(1))
        #expect(rollout.machine.status.state == .aborted)
        #expect(rollout.machine.status.message == "web-00002 failed (crash); traffic stays on web-00001")
    }

    @Test func refusedTrafficEndsTheRollout() {
        var rollout = Harness()
        rollout.ready(at: .zero)
        let actions = rollout.machine.trafficRejected("revision web-00001 not found")
        #expect(actions.count == 2)
        #expect(rollout.machine.status.state == .aborted)
        #expect(rollout.machine.status.message == "cannot set traffic: revision web-00001 not found")
    }

    @Test func aFinishedRolloutCannotBeCancelled() {
        var rollout = Harness(policy: RolloutPolicy(step: 100, interval: .seconds(1)))
        rollout.ready(at: .zero)
        _ = rollout.tick(.seconds(1))
        #expect(rollout.machine.status.state == .finished)
        #expect(rollout.machine.cancel(because: "the traffic was changed by hand").isEmpty)
        #expect(rollout.machine.status.state == .finished)
    }

    // MARK: Restarts

    /// The status as a restarted server reads it back from the store.
    static func stored(_ status: RolloutStatus) throws -> RolloutStatus {
        try JSONDecoder().decode(RolloutStatus.self, from: JSONEncoder().encode(status))
    }

    @Test func aResumedRolloutStepsAFullIntervalAfterTheRestartAndKeepsCounting() throws {
        var before = Harness()
        before.ready(at: .zero)
        before.answered(12, errors: 0)
        _ = before.tick(.seconds(5))
        #expect(before.machine.status.responses == 12)

        // The new process' clock has another origin, and the gateway counts from zero again.
        let restart = Duration.seconds(7)
        var after = before
        after.machine = RolloutMachine.resume(try Self.stored(before.machine.status), now: restart)
        after.answered(0, errors: 0)
        for tenth in 70..<170 {
            #expect(after.tick(.milliseconds(tenth * 100)).isEmpty, "no step before a full interval")
        }
        #expect(after.machine.status.responses == 12)
        #expect(after.tick(restart + Self.policy.interval.duration).contains(.persist))
        #expect(after.machine.status.percent == 60)

        // Answers after the restart add to those before it: 12 + 8 = 20, 2 of them 5xx.
        after.answered(8, errors: 2)
        _ = after.tick(.seconds(18))
        #expect(after.machine.status.responses == 20)
        #expect(after.machine.status.serverErrors == 2)
        #expect(after.machine.status.state == .rolledBack, "10% 5xx over the 20 answers on both sides of the restart")
        #expect(after.traffic == [.revision(Self.old, 100)])
    }

    @Test func aResumedRolloutCountsEveryAnswerOfTheNewProcess() {
        var status = RolloutStatus(from: Self.old, to: Self.new, policy: Self.policy, base: [.revision(Self.old, 100)])
        status.state = .progressing
        status.percent = 30
        status.responses = 18
        var rollout = Harness()
        rollout.latestReady = Self.new
        rollout.traffic = [.revision(Self.old, 70), .revision(Self.new, 30)]
        rollout.machine = RolloutMachine.resume(status, now: .zero)
        // No counters yet: the stored counts stand.
        _ = rollout.tick(.milliseconds(100))
        #expect(rollout.machine.status.responses == 18)
        // The new gateway answered once before the controller's first sample: it counts too.
        rollout.answered(1, errors: 0)
        _ = rollout.tick(.milliseconds(200))
        #expect(rollout.machine.status.responses == 19)
        #expect(rollout.machine.status.state == .progressing)
        rollout.answered(2, errors: 2)
        _ = rollout.tick(.milliseconds(300))
        #expect(rollout.machine.status.responses == 20)
        #expect(rollout.machine.status.serverErrors == 2)
        #expect(rollout.machine.status.state == .rolledBack)
    }

    @Test func aResumedWaitingRolloutStillWaitsForReadiness() throws {
        let waiting = Harness()
        var rollout = waiting
        rollout.machine = RolloutMachine.resume(try Self.stored(waiting.machine.status), now: .seconds(100))
        #expect(rollout.tick(.seconds(200)).isEmpty)
        rollout.ready(at: .seconds(201))
        #expect(rollout.machine.status.percent == 30)
        #expect(rollout.tick(.seconds(210)).isEmpty)
        #expect(rollout.tick(.seconds(211)).contains(.persist))
    }

    @Test func anEndedRolloutResumesEnded() throws {
        var rollout = Harness()
        _ = rollout.machine.cancel(because: "the traffic was changed by hand")
        var resumed = RolloutMachine.resume(try Self.stored(rollout.machine.status), now: .zero)
        #expect(!resumed.isActive)
        #expect(resumed.tick(now: .seconds(100), observation: rollout.observation).isEmpty)
        #expect(resumed.status == rollout.machine.status)
    }
}
