/// The JSON body of every error the API returns: `{"error":{"code":"…","message":"…"}}`.
public struct APIErrorBody: Codable, Sendable, Hashable {
    public struct Detail: Codable, Sendable, Hashable {
        /// Machine-readable kind, e.g. `not_found`, `invalid_argument`, `unauthorized`.
        public var code: String
        /// One line a person can act on.
        public var message: String
    }

    public var error: Detail

    public init(code: String, message: String) {
        self.error = Detail(code: code, message: message)
    }
}
