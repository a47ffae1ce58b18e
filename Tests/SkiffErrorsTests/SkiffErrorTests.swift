import SkiffErrors
import Testing

/// A module's error as every Skiff module writes one.
private struct SampleError: SkiffError {
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        var description: String { raw }
        static let io = Code(raw: "I/O error")
    }

    var code: Code = .io
    var message: String
    var cause: (any Error)?

    init(_ message: String, cause: (any Error)? = nil) {
        self.message = message
        self.cause = cause
    }
}

/// An error from outside Skiff, e.g. an `Errno`.
private struct ForeignError: Error, CustomStringConvertible {
    var description: String
}

@Suite struct SkiffErrorTests {
    @Test func anErrorWithoutACauseIsItsMessage() {
        #expect(SampleError("cannot read blob sha256:ab").description == "cannot read blob sha256:ab")
    }

    @Test func aCauseFollowsTheMessageAfterAColon() {
        let error = SampleError("cannot read blob sha256:ab", cause: ForeignError(description: "Permission denied"))
        #expect(error.description == "cannot read blob sha256:ab: Permission denied")
        #expect("\(error)" == error.description)
    }

    @Test func aCauseTheMessageAlreadyEndsWithIsNotRepeated() {
        let cause = ForeignError(description: "Address already in use")
        let error = SampleError("cannot listen on 0.0.0.0:80: \(cause)", cause: cause)
        #expect(error.description == "cannot listen on 0.0.0.0:80: Address already in use")
    }

    @Test func aSkiffCauseTheMessageAlreadyEndsWithIsNotRepeated() {
        let cause = SampleError("cannot open layer", cause: ForeignError(description: "No such file or directory"))
        let error = SampleError("layer sha256:ab rejected: \(cause)", cause: cause)
        #expect(error.description == "layer sha256:ab rejected: cannot open layer: No such file or directory")
    }

    @Test func aQuotedSkiffMessageIsFollowedOnlyByWhatLiesBeneathIt() {
        let alone = SampleError("no tag v1")
        let pulledAlone = SampleError("cannot pull app:v1: \(alone.message)", cause: alone)
        #expect(pulledAlone.description == "cannot pull app:v1: no tag v1")

        let withCause = SampleError("no tag v1", cause: ForeignError(description: "connection reset"))
        let pulled = SampleError("cannot pull app:v1: \(withCause.message)", cause: withCause)
        #expect(pulled.description == "cannot pull app:v1: no tag v1: connection reset")
    }

    @Test func aChainOfCausesReadsOutermostFirst() {
        let database = ForeignError(description: "SQLite error 5: database is locked")
        let store = SampleError("cannot read revisions", cause: database)
        let controller = SampleError("cannot deploy hello", cause: store)
        #expect(
            controller.description == "cannot deploy hello: cannot read revisions: SQLite error 5: database is locked")
    }

    @Test func anEmptyMessageIsItsCause() {
        #expect(SampleError("", cause: ForeignError(description: "Broken pipe")).description == "Broken pipe")
    }
}
