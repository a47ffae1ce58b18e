import Foundation
import SkiffRuntime
import SkiffTestSupport
import Testing

/// `skiff logs` over a log the runtime rotates (copy to `ID.log.1`, truncate `ID.log`).
@Suite struct LogFollowerTests {
    @Test func theTailReachesIntoTheRotatedFileAndFollowingSurvivesARotation() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/web-1.log"
        try "a\nb\nc\n".write(toFile: path + ".1", atomically: false, encoding: .utf8)
        try "d\n".write(toFile: path, atomically: false, encoding: .utf8)

        var follower = LogFollower(path: path, prefix: "web-1 | ", tail: 3)
        #expect(follower.readNewLines() == "web-1 | b\nweb-1 | c\nweb-1 | d\n")
        #expect(follower.readNewLines() == "")

        let log = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? log.close() }
        try log.seekToEnd()
        try log.write(contentsOf: Data("e\n".utf8))
        #expect(follower.readNewLines() == "web-1 | e\n")

        // Rotated: the file shrank, so what is in it now is new.
        try log.truncate(atOffset: 0)
        try log.write(contentsOf: Data("f\n".utf8))
        #expect(follower.readNewLines() == "web-1 | f\n")

        // A tail shorter than the current file does not read the rotated one.
        var short = LogFollower(path: path, prefix: "", tail: 1)
        #expect(short.readNewLines() == "f\n")
    }
}
