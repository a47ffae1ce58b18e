public import SkiffErrors

/// Every failure in SkiffRuntime: a code to switch on, a message naming what failed and
/// for which instance, and the underlying cause (an errno, a tool's output).
public struct RuntimeError: SkiffError {
    /// Extensible error kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        /// The instance spec or image config cannot be turned into a container (no command, bad id).
        public static let invalidSpec = Code(raw: "invalid spec")
        /// The image's `User` names a user or group its /etc/passwd or /etc/group lacks.
        public static let unknownUser = Code(raw: "unknown user")
        /// An instance with this id already exists.
        public static let alreadyExists = Code(raw: "already exists")
        /// The instance does not exist.
        public static let notFound = Code(raw: "not found")
        /// Mounting or unmounting the root filesystem failed.
        public static let mount = Code(raw: "mount failed")
        /// Creating the network namespace, a CNI plugin or the firewall failed.
        public static let network = Code(raw: "network failed")
        /// The OCI runtime (runc) refused or failed; the message carries its own.
        public static let runtime = Code(raw: "runtime failed")
        /// A cgroup file could not be read or written.
        public static let cgroup = Code(raw: "cgroup failed")
        /// A helper program could not be run.
        public static let command = Code(raw: "command failed")
        /// A file operation failed.
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
