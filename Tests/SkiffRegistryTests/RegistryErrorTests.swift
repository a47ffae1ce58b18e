import HTTPTypes
import SkiffRegistry
import Testing

@Suite struct RegistryErrorTests {
    private struct BlobFailure: Error, CustomStringConvertible {
        var description: String { "Permission denied" }
    }

    @Test func theDescriptionIsTheMessageThenTheCause() {
        #expect("\(RegistryError(.manifestUnknown, "manifest v9 unknown"))" == "manifest v9 unknown")
        let error = RegistryError(.blobUnknown, "blob sha256:ab unknown", cause: BlobFailure())
        #expect("\(error)" == "blob sha256:ab unknown: Permission denied")
        #expect(error.status == .notFound)
        #expect(error.code.description == "BLOB_UNKNOWN", "the code reads as the spec names it")
    }
}
