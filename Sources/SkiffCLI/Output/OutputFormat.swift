public import ArgumentParser
import Foundation
import Yams

/// How a command prints what it got: aligned tables for people, JSON or YAML for scripts.
///
/// JSON and YAML print the API's objects unchanged (camelCase fields, RFC 3339 times, keys
/// sorted so the output is stable and diffable).
public enum OutputFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case table
    case json
    case yaml

    /// `value` as JSON or YAML text ending in a newline; `nil` for `table`, which each command renders itself.
    func encode<Value: Encodable>(_ value: Value) throws(CLIError) -> String? {
        switch self {
        case .table:
            return nil
        case .json:
            return try Self.json(value)
        case .yaml:
            do {
                let encoder = YAMLEncoder()
                encoder.options.sortKeys = true
                return try encoder.encode(value)
            } catch {
                throw CLIError(.badResponse, "cannot encode the output as YAML: \(error)", cause: error)
            }
        }
    }

    static func json<Value: Encodable>(_ value: Value) throws(CLIError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        } catch {
            throw CLIError(.badResponse, "cannot encode the output as JSON: \(error)", cause: error)
        }
    }
}
