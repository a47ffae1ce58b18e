/// One environment variable of a container, in the order the user gave it.
public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Parses `NAME=VALUE` as given on the command line.
    public init(parsing text: String) throws(ModelError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw ModelError(.invalidValue, field: "env", "invalid env \"\(text)\": expected NAME=VALUE")
        }
        self.init(name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
        try validate()
    }

    /// POSIX-portable names: letters, digits, `_`, not starting with a digit.
    public func validate() throws(ModelError) {
        let bytes = Array(name.utf8)
        let valid =
            !bytes.isEmpty && !(bytes[0] >= 0x30 && bytes[0] <= 0x39)
            && bytes.allSatisfy {
                ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F
            }
        guard valid else {
            throw ModelError(
                .invalidValue, field: "env",
                "invalid env name \"\(name)\": use letters, digits and '_', not starting with a digit")
        }
        guard name != "PORT" else {
            throw ModelError(.invalidValue, field: "env", "env PORT is reserved: Skiff sets it to the service's --port")
        }
    }
}
