/// A control-plane request that cannot be carried out, with what the user can do about it.
public struct ControllerError: Error, CustomStringConvertible, Sendable {
    /// Extensible error kinds; the API maps them to HTTP statuses.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        public static let notFound = Code(raw: "not_found")
        public static let invalidArgument = Code(raw: "invalid_argument")
        public static let conflict = Code(raw: "conflict")
        public static let unavailable = Code(raw: "unavailable")
        public static let internalError = Code(raw: "internal")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
