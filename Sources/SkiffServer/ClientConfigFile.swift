import Foundation
import SkiffAPI

/// The CLI's configuration file, `~/.config/skiff/config.json` (`$XDG_CONFIG_HOME` honoured):
/// written on first start so that `skiff` commands on this machine work right away.
enum ClientConfigFile {
    static func write(server: String, token: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CONFIG_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.config")
        let directory = base + "/skiff"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/config.json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AdminToken.writePrivate(try encoder.encode(["server": server, "token": token]), to: path)
        return path
    }
}
