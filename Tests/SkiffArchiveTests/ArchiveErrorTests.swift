import SkiffArchive
import SystemPackage
import Testing

@Suite struct ArchiveErrorTests {
    @Test func theCauseFollowsTheMessageAfterAColon() {
        let error = ArchiveError(.io, "cannot open layer", cause: Errno.noSuchFileOrDirectory)
        #expect("\(error)" == "cannot open layer: \(Errno.noSuchFileOrDirectory)")
    }

    @Test func aSystemCallFailureNamesItsErrnoOnce() {
        let errno = Errno.permissionDenied
        let error = ArchiveError(.io, "cannot create entry `etc/passwd`: \(errno)", cause: errno)
        #expect("\(error)" == "cannot create entry `etc/passwd`: \(errno)")
    }
}
