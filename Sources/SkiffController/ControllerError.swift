public import SkiffErrors
import SkiffRegistry
import SkiffStore

/// A control-plane request that cannot be carried out, with what the user can do about it.
public struct ControllerError: SkiffError {
    /// Extensible error kinds; the API maps them to HTTP statuses.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        public static let notFound = Code(raw: "not_found")
        public static let invalidArgument = Code(raw: "invalid_argument")
        public static let conflict = Code(raw: "conflict")
        public static let unavailable = Code(raw: "unavailable")
        /// The data directory reached its free-space reserve: the operator must make room.
        public static let insufficientStorage = Code(raw: "insufficient_storage")
        public static let internalError = Code(raw: "internal")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// A store failure as the API should report it: rule violations are the caller's to fix,
    /// anything else is the server's.
    init(storeError error: StoreError, _ context: String) {
        switch error.code {
        case .invalid: self.init(.invalidArgument, error.message)
        case .conflict: self.init(.conflict, error.message)
        case .notFound: self.init(.notFound, error.message)
        default: self.init(.internalError, context, cause: error)
        }
    }

    /// An image that cannot be loaded or resolved, as the controller has always reported it:
    /// the same code and the image's own message, which already names the image.
    init(imageError error: ImageError) {
        let code: Code
        switch error.code {
        case .notFound: code = .notFound
        case .invalidArgument: code = .invalidArgument
        case .insufficientStorage: code = .insufficientStorage
        default: code = .internalError
        }
        self.init(code, error.message, cause: error.cause)
    }
}
