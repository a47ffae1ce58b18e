import SkiffModel

extension ServiceName {
    /// A name from the command line, already checked in `validate()`, as a ``CLIError`` when invalid.
    static func parse(_ text: String) throws(CLIError) -> ServiceName {
        do {
            return try ServiceName(text)
        } catch {
            throw CLIError(.invalidInput, error.message)
        }
    }
}
