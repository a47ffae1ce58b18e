import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The CLI's configuration file: the server to talk to and its token, as `skiff login` and the
/// server's first start write it. `{"server":"http://127.0.0.1:7070","token":"skf_…"}`
///
/// It lives in `$SKIFF_CONFIG`, else `$XDG_CONFIG_HOME/skiff/config.json`, else
/// `~/.config/skiff/config.json`; the directory is `0700` and the file `0600` because the
/// token is an admin credential.
struct ClientConfig: Codable, Sendable, Hashable {
    public var server: String?
    public var token: String?

    public init(server: String? = nil, token: String? = nil) {
        self.server = server
        self.token = token
    }

    /// Where the configuration lives for this environment.
    public static func path(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["SKIFF_CONFIG"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/skiff/config.json" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/skiff/config.json"
    }

    /// The configuration at `path`, or `nil` when there is no file.
    public static func load(from path: String) throws(CLIError) -> ClientConfig? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CLIError(.io, "cannot read the configuration \(path): \(error.localizedDescription)", cause: error)
        }
        do {
            return try JSONDecoder().decode(ClientConfig.self, from: data)
        } catch {
            throw CLIError(
                .io, "cannot read the configuration \(path): not a JSON object with server and token", cause: error)
        }
    }

    /// Writes the file with mode `0600` (replacing it atomically) in a `0700` directory.
    public func save(to path: String) throws(CLIError) {
        let directory = (path as NSString).deletingLastPathComponent
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            if !FileManager.default.fileExists(atPath: directory) {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                guard chmod(directory, 0o700) == 0 else { throw Self.systemError("chmod \(directory)") }
            }
            var data = try encoder.encode(self)
            data.append(0x0A)
            // A fresh file created 0600 and renamed over the old one: the token is never
            // readable by others, not even for a moment, whatever the old file's mode was.
            let temporary = path + ".tmp-\(getpid())"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Self.systemError("open \(temporary)") }
            let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd) == 0 && fchmod(fd, 0o600) == 0
            close(fd)
            guard written == data.count, synced else {
                let failure = Self.systemError("write \(temporary)")
                unlink(temporary)
                throw failure
            }
            guard rename(temporary, path) == 0 else {
                let failure = Self.systemError("rename to \(path)")
                unlink(temporary)
                throw failure
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(.io, "cannot write the configuration \(path): \(error.localizedDescription)", cause: error)
        }
    }

    private static func systemError(_ what: String) -> CLIError {
        CLIError(.io, "cannot write the configuration: \(what): \(String(cString: strerror(errno)))")
    }
}
