public import SkiffErrors

/// A value or resource that breaks a rule: what was given, what is allowed.
public struct ModelError: SkiffError, Equatable {
    /// Extensible error kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        public static let invalidName = Code(raw: "invalid name")
        public static let invalidQuantity = Code(raw: "invalid quantity")
        public static let invalidDuration = Code(raw: "invalid duration")
        public static let invalidValue = Code(raw: "invalid value")
        /// A Knative manifest breaks one or more rules; ``KnativeManifestError`` lists them.
        public static let invalidManifest = Code(raw: "invalid manifest")
    }

    public var code: Code
    /// The field the value was given for, e.g. `memory`.
    public var field: String?
    public var message: String
    /// Always nil: a value breaks a rule by itself, nothing underneath failed.
    public var cause: (any Error)? { nil }

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }
}
