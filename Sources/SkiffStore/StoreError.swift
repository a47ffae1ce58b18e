public import SkiffErrors

/// A persistence failure: what was being read or written, and the database's own error.
public struct StoreError: SkiffError {
    /// Extensible error kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        public static let notFound = Code(raw: "not found")
        public static let conflict = Code(raw: "conflict")
        /// The write would break a rule only the stored data can check, e.g. traffic to a
        /// revision that does not exist.
        public static let invalid = Code(raw: "invalid")
        public static let corrupt = Code(raw: "corrupt record")
        public static let internalInvariant = Code(raw: "internal invariant")
        public static let database = Code(raw: "database error")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}
