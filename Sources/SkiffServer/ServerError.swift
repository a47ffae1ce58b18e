public import SkiffErrors

/// A failure to start the server, with what to fix: the data directory, the database file or
/// a listening socket cannot be set up, or another server holds them.
public struct ServerError: SkiffError {
    /// Extensible error kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        /// The server cannot start; the message says what is in the way.
        public static let startup = Code(raw: "startup")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    init(_ message: String, cause: (any Error)? = nil) {
        self.code = .startup
        self.message = message
        self.cause = cause
    }
}
