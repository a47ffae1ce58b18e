import ArgumentParser
import Foundation
import SkiffTestSupport
import Testing

@testable import SkiffCLI

/// The configuration file holds an admin token: private modes, atomic replacement, and a
/// clear precedence between flags, environment and file.
struct ClientConfigTests {
    @Test func pathFollowsSkiffConfigThenXDGThenHome() {
        #expect(ClientConfig.path(environment: ["SKIFF_CONFIG": "/c.json", "HOME": "/h"]) == "/c.json")
        #expect(ClientConfig.path(environment: ["XDG_CONFIG_HOME": "/x", "HOME": "/h"]) == "/x/skiff/config.json")
        #expect(ClientConfig.path(environment: ["HOME": "/h"]) == "/h/.config/skiff/config.json")
    }

    @Test func saveWritesPrivateFileInPrivateDirectoryAndLoadsBack() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let path = ClientConfig.path(environment: ["HOME": home.path])
        let config = ClientConfig(server: "http://127.0.0.1:7070", token: "skf_secret")
        try config.save(to: path)
        #expect(try ClientConfig.load(from: path) == config)
        let fileMode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        let directoryMode =
            try FileManager.default.attributesOfItem(atPath: home.path + "/.config/skiff")[.posixPermissions] as? Int
        #expect(fileMode == 0o600)
        #expect(directoryMode == 0o700)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(#""server" : "http://127.0.0.1:7070""#))
        #expect(text.contains(#""token" : "skf_secret""#))
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path + "/.config/skiff") == ["config.json"])
    }

    @Test func saveReplacesAReadableFileWithAPrivateOne() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let path = try home.write("config.json", #"{"server":"http://old","token":"old"}"#)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        try ClientConfig(server: "http://new:7070", token: "new").save(to: path)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try ClientConfig.load(from: path)?.token == "new")
    }

    @Test func missingFileIsNoConfigAndMalformedFileIsAnError() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        #expect(try ClientConfig.load(from: home.path + "/none.json") == nil)
        let bad = try home.write("bad.json", "not json")
        let error = #expect(throws: CLIError.self) { try ClientConfig.load(from: bad) }
        #expect(error?.message.contains(bad) == true)
    }

    @Test func flagsBeatEnvironmentWhichBeatsTheFile() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let path = home.path + "/config.json"
        try ClientConfig(server: "http://saved:7070/", token: "skf_saved").save(to: path)

        let none = try #require(try SkiffCommand.parseAsRoot(["services", "list"]) as? ServicesListCommand).global
        let fromFile = try none.connection(environment: [:], configPath: path)
        #expect(fromFile.server == "http://saved:7070" && fromFile.token == "skf_saved")

        let fromEnvironment = try none.connection(
            environment: ["SKIFF_SERVER": "http://env:7070", "SKIFF_TOKEN": "skf_env"], configPath: path)
        #expect(fromEnvironment.server == "http://env:7070" && fromEnvironment.token == "skf_env")

        let flags = try #require(
            try SkiffCommand.parseAsRoot(["services", "list", "--server", "http://flag:7070", "--token", "skf_flag"])
                as? ServicesListCommand
        ).global
        let fromFlags = try flags.connection(
            environment: ["SKIFF_SERVER": "http://env:7070", "SKIFF_TOKEN": "skf_env"], configPath: path)
        #expect(fromFlags.server == "http://flag:7070" && fromFlags.token == "skf_flag")

        let defaults = try none.connection(environment: [:], configPath: home.path + "/none.json")
        #expect(defaults.server == "http://127.0.0.1:7070" && defaults.token == nil)
    }

    @Test func savedTokenIsOnlySentToTheServerItWasSavedFor() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let path = home.path + "/config.json"
        try ClientConfig(server: "http://saved:7070", token: "skf_saved").save(to: path)
        let other = try #require(
            try SkiffCommand.parseAsRoot(["services", "list", "--server", "http://elsewhere:7070"])
                as? ServicesListCommand
        ).global
        let connection = try other.connection(environment: [:], configPath: path)
        #expect(connection.server == "http://elsewhere:7070")
        #expect(connection.token == nil)
    }
}
