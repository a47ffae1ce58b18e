public import SkiffErrors

/// Every failure in SkiffOCI: a code to switch on, a message a user can act on, and the cause.
public struct OCIError: SkiffError {
    /// Extensible error kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        public static let invalidDigest = Code(raw: "invalid digest")
        public static let digestMismatch = Code(raw: "digest mismatch")
        public static let sizeMismatch = Code(raw: "size mismatch")
        public static let blobUnknown = Code(raw: "blob unknown")
        public static let invalidReference = Code(raw: "invalid reference")
        public static let invalidManifest = Code(raw: "invalid manifest")
        public static let invalidLayout = Code(raw: "invalid image layout")
        public static let manifestNotFound = Code(raw: "manifest not found")
        public static let unsupportedMediaType = Code(raw: "unsupported media type")
        public static let invalidLayer = Code(raw: "invalid layer")
        /// A layer or image crosses a size or expansion-ratio limit of the server.
        public static let limitExceeded = Code(raw: "limit exceeded")
        /// The server's snapshot filesystem is down to its free-space reserve.
        public static let insufficientSpace = Code(raw: "insufficient space")
        public static let io = Code(raw: "I/O error")
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
