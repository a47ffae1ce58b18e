import ArgumentParser
import SkiffModel

extension ServiceName {
    /// Checks a service name given on the command line, for a command's `validate()`:
    /// argument-parser then prints the reason with the usage.
    static func validateArgument(_ text: String) throws(ValidationError) {
        do {
            _ = try ServiceName(text)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// A name from the command line, already checked in `validate()`, as a ``CLIError`` when invalid.
    static func parse(_ text: String) throws(CLIError) -> ServiceName {
        do {
            return try ServiceName(text)
        } catch {
            throw CLIError(.invalidInput, error.message)
        }
    }
}
