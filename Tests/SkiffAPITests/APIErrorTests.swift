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
}
