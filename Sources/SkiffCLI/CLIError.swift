public import SkiffErrors

/// The one error type of SkiffCLI: a line a person can act on.
///
/// `message` is printed as is after `error: `, on one line; switch on `code`, never on the
/// message.
public struct CLIError: SkiffError {
    /// Machine-readable category of a ``CLIError``; extensible, compare with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// Stable identifier.
        public let name: String

        public init(_ name: String) { self.name = name }

        public var description: String { name }

        /// The server could not be connected to.
        public static let unreachable = Code("unreachable")
        /// The server rejected the token (401).
        public static let unauthorized = Code("unauthorized")
        /// The server answered with an API error; `apiCode` holds its code.
        public static let api = Code("api")
        /// The server's answer could not be understood.
        public static let badResponse = Code("badResponse")
        /// A local file or the configuration could not be read or written.
        public static let io = Code("io")
        /// A deploy did not become ready.
        public static let notReady = Code("notReady")
        /// Something the user gave that no request was made for.
        public static let invalidInput = Code("invalidInput")
    }

    public var code: Code
    public var message: String
    /// The API's error code (`not_found`, `invalid_argument`…) when `code` is ``Code/api``.
    public var apiCode: String?
    /// The HTTP status when the error came from the server.
    public var status: Int?
    /// The underlying error, if any.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, apiCode: String? = nil, status: Int? = nil, cause: (any Error)? = nil)
    {
        self.code = code
        self.message = message
        self.apiCode = apiCode
        self.status = status
        self.cause = cause
    }

    /// The message alone, unlike other Skiff errors: each message is written for a person and
    /// already says its cause in words (a file error's `localizedDescription`, why a connection
    /// failed), and the cause's own description (Foundation's `Error Domain=…` text, an HTTP
    /// client's enum case) would only say it again, less readably.
    public var description: String { message }
}
