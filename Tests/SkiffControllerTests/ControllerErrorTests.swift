import SkiffRegistry
import SkiffStore
import Testing

@testable import SkiffController

@Suite struct ControllerErrorTests {
    private struct DatabaseFailure: Error, CustomStringConvertible {
        var description: String { "SQLite error 5: database is locked" }
    }

    @Test func aStoreFailureShowsTheStoreErrorAndItsCause() {
        let store = StoreError(.database, "cannot read revisions", cause: DatabaseFailure())
        let error = ControllerError(storeError: store, "cannot deploy hello")
        #expect(error.code == .internalError)
        #expect(error.message == "cannot deploy hello", "the API's body stays the message alone")
        #expect("\(error)" == "cannot deploy hello: cannot read revisions: SQLite error 5: database is locked")
    }

    @Test func aRuleTheStoreChecksIsTheCallersAndHasNoCause() {
        let error = ControllerError(storeError: StoreError(.invalid, "revision hello-00009 does not exist"), "")
        #expect(error.code == .invalidArgument)
        #expect("\(error)" == "revision hello-00009 does not exist")
    }

    @Test func anImageFailureSaysItsCauseOnce() {
        let image = ImageError(.notFound, "cannot pull ghcr.io/team/app:v1: no tag v1", cause: PullFailure())
        let error = ControllerError(imageError: image)
        #expect(error.code == .notFound)
        #expect("\(error)" == "cannot pull ghcr.io/team/app:v1: no tag v1")
    }

    @Test func aFullDataDirectoryStaysInsufficientStorageNotAnInternalError() {
        let error = ControllerError(imageError: ImageError(.insufficientStorage, "image big:v1: disk reserve reached"))
        #expect(error.code == .insufficientStorage)
    }

    /// What a pull-through answers for a tag it does not have; the image error quotes it.
    private struct PullFailure: Error, CustomStringConvertible {
        var description: String { "no tag v1" }
    }
}
