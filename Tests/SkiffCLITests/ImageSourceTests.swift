import Testing

@testable import SkiffCLI

/// `skiff images load DIR[:REF]|FILE`: the ref is split off only when what precedes the last
/// `:` exists, so paths with colons still work.
struct ImageSourceTests {
    static let disk: [String: ImageSource.PathKind] = [
        "./hello": .directory, "/images/busybox": .directory, "weird:dir": .directory, "a:b": .directory,
        "hello.tar": .file,
    ]

    static func parse(_ text: String) throws(CLIError) -> ImageSource {
        try ImageSource.parse(text) { disk[$0] ?? .missing }
    }

    @Test(arguments: [
        ("./hello", ImageSource.layout(directory: "./hello", ref: nil)),
        ("./hello:v1", .layout(directory: "./hello", ref: "v1")),
        ("/images/busybox:1.36", .layout(directory: "/images/busybox", ref: "1.36")),
        ("weird:dir", .layout(directory: "weird:dir", ref: nil)),
        ("weird:dir:latest", .layout(directory: "weird:dir", ref: "latest")),
        ("a:b:c", .layout(directory: "a:b", ref: "c")),
        ("hello.tar", .archive(file: "hello.tar", ref: nil)),
        ("hello.tar:v2", .archive(file: "hello.tar", ref: "v2")),
    ])
    func splitsPathAndRef(_ text: String, _ expected: ImageSource) throws {
        #expect(try Self.parse(text) == expected)
    }

    @Test(arguments: [
        ("missing", "cannot read missing"), ("missing:v1", "cannot read missing:v1"), ("./hello:", "invalid image ref"),
    ])
    func rejectsWhatDoesNotExist(_ text: String, _ message: String) {
        let error = #expect(throws: CLIError.self) { try Self.parse(text) }
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }
}
