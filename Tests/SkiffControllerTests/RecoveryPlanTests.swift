import SkiffModel
import Testing

@testable import SkiffController

/// What a starting server adopts and what it stops, from the records and the runtime's view.
@Suite struct RecoveryPlanTests {
    static func instance(_ id: String, _ revision: String, _ state: InstanceState, address: String? = "10.0.0.2:8080")
        -> Instance
    {
        Instance(id: id, service: "web", revision: revision, state: state, address: address)
    }

    @Test func servingInstancesOfRevisionsThatShouldRunAreCandidates() {
        let plan = RecoveryPlan(
            stored: [
                Self.instance("web-00002-bbbbb", "web-00002", .frozen),
                Self.instance("web-00002-aaaaa", "web-00002", .ready),
            ],
            leftovers: ["web-00002-aaaaa", "web-00002-bbbbb"], activeRevisions: ["web-00002"])
        #expect(plan.candidates.map(\.id) == ["web-00002-aaaaa", "web-00002-bbbbb"])
        #expect(plan.discard.isEmpty)
    }

    @Test(arguments: [InstanceState.starting, .unready, .stopping, .failed])
    func instancesThatWereNotServingAreStopped(_ state: InstanceState) {
        let plan = RecoveryPlan(
            stored: [Self.instance("web-00001-aaaaa", "web-00001", state)], leftovers: ["web-00001-aaaaa"],
            activeRevisions: ["web-00001"])
        #expect(plan.candidates.isEmpty)
        #expect(plan.discard == ["web-00001-aaaaa"])
    }

    @Test func instancesOfRevisionsThatNoLongerRunAreStopped() {
        let plan = RecoveryPlan(
            stored: [
                Self.instance("web-00001-aaaaa", "web-00001", .ready),
                Self.instance("web-00002-bbbbb", "web-00002", .ready),
            ],
            leftovers: ["web-00001-aaaaa", "web-00002-bbbbb"], activeRevisions: ["web-00002"])
        #expect(plan.candidates.map(\.id) == ["web-00002-bbbbb"])
        #expect(plan.discard == ["web-00001-aaaaa"])
    }

    @Test func containersWithoutARecordAreStopped() {
        let plan = RecoveryPlan(stored: [], leftovers: ["web-00001-zzzzz"], activeRevisions: ["web-00001"])
        #expect(plan.candidates.isEmpty)
        #expect(plan.discard == ["web-00001-zzzzz"])
    }

    @Test func recordsWhoseContainerIsGoneAreForgotten() {
        // The runtime has nothing of it (the machine rebooted): its record goes, a new instance starts.
        let plan = RecoveryPlan(
            stored: [Self.instance("web-00001-aaaaa", "web-00001", .ready)], leftovers: [],
            activeRevisions: ["web-00001"])
        #expect(plan.candidates.isEmpty)
        #expect(plan.discard == ["web-00001-aaaaa"])
    }

    @Test func aRecordWithoutAnAddressCannotBeAdopted() {
        let plan = RecoveryPlan(
            stored: [Self.instance("web-00001-aaaaa", "web-00001", .ready, address: nil)],
            leftovers: ["web-00001-aaaaa"],
            activeRevisions: ["web-00001"])
        #expect(plan.candidates.isEmpty)
        #expect(plan.discard == ["web-00001-aaaaa"])
    }
}
