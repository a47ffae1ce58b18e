import Yams

/// What reading a manifest found: problems (the manifest is rejected) and warnings (fields
/// accepted that change nothing in Skiff), each naming its field by path, so that one run
/// shows all of them instead of the first.
final class ManifestReport {
    private(set) var problems: [ModelError] = []
    private(set) var warnings: [String] = []

    func problem(_ path: String, _ code: ModelError.Code, _ message: String) {
        problems.append(ModelError(code, field: path, path.isEmpty ? message : "\(path): \(message)"))
    }

    /// A value that breaks a rule.
    func problem(_ path: String, _ message: String) {
        problem(path, .invalidValue, message)
    }

    /// Whether `path` or a field inside it has a problem already: a check of a value the
    /// reading already refused would only repeat it in other words.
    func hasProblems(under path: String) -> Bool {
        problems.contains { problem in
            guard let field = problem.field else { return false }
            return field == path || field.hasPrefix("\(path).") || field.hasPrefix("\(path)[")
        }
    }

    func warning(_ path: String, _ message: String) {
        warnings.append("\(path): \(message)")
    }
}

/// One mapping of a YAML document being read. It hands out values by key, checking their
/// YAML type, and remembers every key asked for — read, refused or ignored — so that
/// ``finish(rest:)`` reports each key nobody asked for as an unknown field, by its path.
///
/// A `null` value counts as absent, as it does for Kubernetes.
final class ManifestObject {
    let path: String
    let report: ManifestReport
    private let entries: [(key: String, value: Node)]
    private var asked: Set<String> = []

    /// `nil`, with a problem, when `node` is not a mapping.
    init?(_ node: Node, path: String, report: ManifestReport) {
        guard let mapping = node.mapping else {
            report.problem(path, "expected an object, not \(Self.describe(node))")
            return nil
        }
        self.path = path
        self.report = report
        self.entries = mapping.map { (key: $0.key.string ?? "\($0.key)", value: $0.value) }
    }

    /// The path of a field of this object, as Knative writes it: `spec.template.metadata`.
    func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func contains(_ key: String) -> Bool { node(key) != nil }

    /// The value of `key`, unless absent or null; marks `key` as known.
    func node(_ key: String) -> Node? {
        asked.insert(key)
        guard let node = entries.first(where: { $0.key == key })?.value, !node.hasTag(.null) else { return nil }
        return node
    }

    /// Whether the value is a string, such as a port given by name.
    func isString(_ key: String) -> Bool { node(key)?.hasTag(.str) ?? false }

    /// Any scalar, as its text: strings, and the numbers Kubernetes accepts as quantities.
    func text(_ key: String) -> String? {
        guard let node = node(key) else { return nil }
        guard let scalar = node.scalar else {
            report.problem(path(key), "expected a string, not \(Self.describe(node))")
            return nil
        }
        return scalar.string
    }

    func int(_ key: String) -> Int? {
        guard let node = node(key) else { return nil }
        guard node.hasTag(.int), let value = node.int else {
            report.problem(path(key), "expected an integer, not \(Self.describe(node))")
            return nil
        }
        return value
    }

    func bool(_ key: String) -> Bool? {
        guard let node = node(key) else { return nil }
        guard node.hasTag(.bool), let value = node.bool else {
            report.problem(path(key), "expected true or false, not \(Self.describe(node))")
            return nil
        }
        return value
    }

    /// A list of strings, such as `command` or `args`.
    func texts(_ key: String) -> [String]? {
        guard let node = node(key) else { return nil }
        guard let sequence = node.sequence else {
            report.problem(path(key), "expected a list of strings, not \(Self.describe(node))")
            return nil
        }
        var texts: [String] = []
        for (index, item) in sequence.enumerated() {
            guard let scalar = item.scalar, !item.hasTag(.null) else {
                report.problem("\(path(key))[\(index)]", "expected a string, not \(Self.describe(item))")
                continue
            }
            texts.append(scalar.string)
        }
        return texts
    }

    /// A map of strings to strings (labels, annotations), in the document's order.
    func textMap(_ key: String) -> [(key: String, value: String)]? {
        guard let object = object(key) else { return nil }
        return object.entries.compactMap { entry in
            object.asked.insert(entry.key)
            guard let scalar = entry.value.scalar else {
                report.problem(object.path(entry.key), "expected a string, not \(Self.describe(entry.value))")
                return nil
            }
            return (entry.key, scalar.string)
        }
    }

    func object(_ key: String) -> ManifestObject? {
        node(key).flatMap { ManifestObject($0, path: path(key), report: report) }
    }

    /// A list of objects; an item that is not an object is reported and left out.
    func objects(_ key: String) -> [ManifestObject]? {
        guard let node = node(key) else { return nil }
        guard let sequence = node.sequence else {
            report.problem(path(key), "expected a list, not \(Self.describe(node))")
            return nil
        }
        return sequence.enumerated().compactMap { index, item in
            ManifestObject(item, path: "\(path(key))[\(index)]", report: report)
        }
    }

    /// Fields Knative has and Skiff does not implement: present, each is a problem saying why.
    func unsupported(_ keys: String..., because why: String) {
        for key in keys where contains(key) {
            report.problem(path(key), .unsupported, "not supported by Skiff: \(why)")
        }
    }

    /// A field accepted only with the value Skiff behaves as anyway (`privileged: false`).
    func only(_ key: String, _ harmless: Bool, because why: String) {
        if let value = bool(key), value != harmless {
            report.problem(path(key), .unsupported, "not supported by Skiff with \(value): \(why)")
        }
    }

    func only(_ key: String, _ harmless: String, because why: String) {
        if let value = text(key), value != harmless {
            report.problem(
                path(key), .unsupported, "not supported by Skiff with \(value): \(why) (only \(harmless) is)")
        }
    }

    /// Fields that change nothing in Skiff: accepted with a warning saying so, since a
    /// warning is not silence and refusing them would refuse most real manifests.
    func ignored(_ keys: String..., because why: String) {
        for key in keys where contains(key) {
            report.warning(path(key), "ignored: \(why)")
        }
    }

    /// How keys nobody asked for are reported.
    enum Rest {
        /// A typo, or a field of a newer Knative.
        case unknown
        /// Keys of an open set Skiff implements a few of (resource names).
        case unsupported(String)
    }

    /// Reports every key not asked for; call once, after reading the object.
    func finish(rest: Rest = .unknown) {
        for entry in entries where !asked.contains(entry.key) {
            switch rest {
            case .unknown: report.problem(path(entry.key), .unknownField, "unknown field")
            case .unsupported(let why): report.problem(path(entry.key), .unsupported, "not supported by Skiff: \(why)")
            }
        }
    }

    /// What a value is, for messages: `"ten"`, `a list`, `an object`.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): node.hasTag(.null) ? "null" : "\"\(scalar.string)\""
        case .mapping: "an object"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

extension ModelError.Code {
    /// A field the schema does not have: a typo, or a field of a newer release.
    public static let unknownField = ModelError.Code(raw: "unknown field")
    /// A field the schema has and Skiff does not implement.
    public static let unsupported = ModelError.Code(raw: "not supported")
}

extension Node {
    /// Whether YAML resolved the node to `name`: a quoted `"10"` is a string, not an int.
    func hasTag(_ name: Tag.Name) -> Bool { tag.rawValue == name.rawValue }
}
