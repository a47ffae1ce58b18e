import SkiffModel
import Testing

@testable import SkiffController

/// The rollouts the controller keeps: each changed one is written once.
@Suite struct ServiceRolloutsTests {
    @Test func aChangedRolloutIsTakenOnceForTheStore() {
        var rollouts = ServiceRollouts()
        rollouts.noteChanged("web")
        rollouts.noteChanged("web")
        rollouts.noteChanged("api")
        var taken: [ServiceName] = []
        while let name = rollouts.takeChanged() { taken.append(name) }
        #expect(taken.sorted() == ["api", "web"])
        let again = rollouts.takeChanged()
        #expect(again == nil, "taken once")
    }
}
