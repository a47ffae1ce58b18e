public import SkiffErrors

/// Why an image could not be loaded or resolved: a code to switch on, a message a user can act
/// on ("image hello:v1 not found: load it with …"), and the cause.
///
/// The controller reports these as its own errors and the API maps them to HTTP statuses;
/// both keep `message` as it is, so it must read well on its own.
public struct ImageError: SkiffError {
    /// Extensible error kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        /// The archive, layout, reference or image is not something this server can run.
        public static let invalidArgument = Code(raw: "invalid argument")
        /// The named image, manifest or blob is not there.
        public static let notFound = Code(raw: "not found")
        /// The server's disk is down to the free-space reserve its layers may not cross: the
        /// image may be fine, the server has no room for it now.
        public static let insufficientStorage = Code(raw: "insufficient storage")
        /// The server failed at its own work, e.g. recording the image's name.
        public static let internalError = Code(raw: "internal error")
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
