public import SkiffErrors

/// The one error type of SkiffGateway.
public struct GatewayError: SkiffError {
    /// What went wrong, extensible without breaking callers that switch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { self.rawValue }

        /// The listening socket could not be bound.
        public static let bindFailed = Code("bindFailed")
        /// A backend's address is not a usable IPv4 literal and port.
        public static let invalidBackend = Code("invalidBackend")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// The gateway stopped before it was listening.
        public static let notListening = Code("notListening")
    }

    public var code: Code
    /// What happened, with the context needed to act on it.
    public var message: String
    public var cause: (any Error)?

    public init(code: Code, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
