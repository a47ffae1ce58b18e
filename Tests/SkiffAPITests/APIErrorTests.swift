import HTTPTypes
import SkiffAPI
import SkiffController
import SkiffRegistry
import Testing

@Suite struct APIErrorTests {
    private struct DatabaseFailure: Error, CustomStringConvertible {
        var description: String { "SQLite error 5: database is locked" }
    }

    @Test func aControllerFailureKeepsItsMessageForTheBodyAndItsCauseForTheLog() {
        let error = APIError(ControllerError(.internalError, "cannot read revisions", cause: DatabaseFailure()))
        #expect(error.status == .internalServerError)
        #expect(error.code == "internal")
        #expect(error.message == "cannot read revisions")
        #expect("\(error)" == "cannot read revisions: SQLite error 5: database is locked")
    }

    @Test func anImageFailureSaysItsCauseOnce() {
        let error = APIError(ImageError(.notFound, "image hello:v1 not found"))
        #expect(error.status == .notFound)
        #expect("\(error)" == "image hello:v1 not found")
    }

    /// The disk reserve is the operator's to fix, not a server fault: 507, from the image
    /// loader directly (images load) and from the controller (deploy).
    @Test func aFullDataDirectoryIs507WhicheverWayTheImageCame() {
        let full = ImageError(.insufficientStorage, "image big:v1: the data directory is down to its 10% reserve")
        for error in [APIError(full), APIError(ControllerError(.insufficientStorage, full.message))] {
            #expect(error.status.code == 507)
            #expect(error.code == "insufficient_storage")
            #expect(error.message == full.message)
        }
    }
}
