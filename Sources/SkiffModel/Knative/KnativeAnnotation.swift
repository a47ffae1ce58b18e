/// A scaling setting carried by an annotation of the revision template: Knative's
/// `autoscaling.knative.dev/*` names and value formats, and `skiff.dev/*` for the settings
/// Knative has no annotation for, so that an exported service applies back unchanged.
///
/// Values are text, as annotations are: whole numbers (`"3"`), decimals (`"70"`, `"2.5"`)
/// and durations (`"60s"`, `"1m30s"`, `"250ms"`).
struct KnativeAnnotation {
    static let autoscalingPrefix = "autoscaling.knative.dev/"
    static let skiffPrefix = "skiff.dev/"

    /// The name Knative documents today, or Skiff's own.
    let key: String
    /// The camelCase name older Knative releases used; still read, never written.
    let legacyKey: String?
    /// The name `ScalingSpec.validate()` gives the setting, to put its errors on this path.
    let field: String
    let value: Value

    enum Value {
        case count(WritableKeyPath<ScalingSpec, Int>)
        case number(WritableKeyPath<ScalingSpec, Double>)
        case optionalNumber(WritableKeyPath<ScalingSpec, Double?>)
        case duration(WritableKeyPath<ScalingSpec, TimeSpan>)
    }

    init(_ key: String, legacy legacyKey: String? = nil, _ field: String, _ value: Value) {
        self.key = key
        self.legacyKey = legacyKey
        self.field = field
        self.value = value
    }

    /// Every setting, in the order Knative's documentation lists them.
    static var settings: [KnativeAnnotation] {
        let knative = autoscalingPrefix
        return [
            KnativeAnnotation(
                "\(knative)min-scale", legacy: "\(knative)minScale", "minInstances", .count(\.minInstances)),
            KnativeAnnotation(
                "\(knative)max-scale", legacy: "\(knative)maxScale", "maxInstances", .count(\.maxInstances)),
            KnativeAnnotation(
                "\(knative)initial-scale", legacy: "\(knative)initialScale", "initialInstances",
                .count(\.initialInstances)),
            KnativeAnnotation("\(knative)target", "target", .optionalNumber(\.target)),
            KnativeAnnotation(
                "\(knative)target-utilization-percentage", legacy: "\(knative)targetUtilizationPercentage",
                "targetUtilization", .number(\.targetUtilization)),
            KnativeAnnotation("\(knative)window", "window", .duration(\.window)),
            KnativeAnnotation(
                "\(knative)panic-window-percentage", legacy: "\(knative)panicWindowPercentage", "panicWindowPercentage",
                .number(\.panicWindowPercentage)),
            KnativeAnnotation(
                "\(knative)panic-threshold-percentage", legacy: "\(knative)panicThresholdPercentage",
                "panicThresholdPercentage", .number(\.panicThresholdPercentage)),
            KnativeAnnotation(
                "\(knative)scale-down-delay", legacy: "\(knative)scaleDownDelay", "scaleDownDelay",
                .duration(\.scaleDownDelay)),
            // Knative's "minimum time the last pod stays after the decision to scale to zero":
            // Skiff's idle time at zero traffic before the last instance goes.
            KnativeAnnotation(
                "\(knative)scale-to-zero-pod-retention-period", legacy: "\(knative)scaleToZeroPodRetentionPeriod",
                "scaleToZeroGrace", .duration(\.scaleToZeroGrace)),
            KnativeAnnotation("\(skiffPrefix)freeze-after", "freezeAfter", .duration(\.freezeAfter)),
            KnativeAnnotation("\(skiffPrefix)frozen-retention", "frozenRetention", .duration(\.frozenRetention)),
        ]
    }

    /// Annotations Knative defines whose only value Skiff implements is its default.
    static let fixed: [(key: String, legacyKey: String?, value: String, why: String)] = [
        ("\(autoscalingPrefix)class", nil, "kpa.autoscaling.knative.dev", "Skiff's autoscaler is Knative's KPA"),
        ("\(autoscalingPrefix)metric", nil, "concurrency", "Skiff scales on requests in flight"),
        (
            "\(autoscalingPrefix)metric-aggregation-algorithm", "\(autoscalingPrefix)metricAggregationAlgorithm",
            "linear",
            "Skiff averages over the window"
        ),
    ]

    /// Annotations Knative defines that Skiff does not implement, with the reason.
    static let unsupported: [(key: String, legacyKey: String?, why: String)] = [
        (
            "\(autoscalingPrefix)target-burst-capacity", "\(autoscalingPrefix)targetBurstCapacity",
            "the gateway always holds requests for a revision short of capacity"
        ),
        ("\(autoscalingPrefix)activation-scale", nil, "a revision scales from zero to what its traffic needs"),
    ]

    /// Sets the setting from an annotation's text; the message says what is wrong.
    func read(_ text: String, into scaling: inout ScalingSpec) -> String? {
        switch value {
        case .count(let field):
            guard let number = Int(text) else { return "expected a whole number, not \"\(text)\"" }
            scaling[keyPath: field] = number
        case .number(let field):
            guard let number = Self.decimal(text) else { return "expected a number, not \"\(text)\"" }
            scaling[keyPath: field] = number
        case .optionalNumber(let field):
            guard let number = Self.decimal(text) else { return "expected a number, not \"\(text)\"" }
            scaling[keyPath: field] = number
        case .duration(let field):
            do {
                scaling[keyPath: field] = TimeSpan(try DurationText.parse(text))
            } catch {
                return "expected a duration such as 60s, 1m30s or 250ms, not \"\(text)\""
            }
        }
        return nil
    }

    /// The annotation's text for `scaling`, or nil when it is the default, which keeps
    /// exports small.
    func written(_ scaling: ScalingSpec) -> String? {
        let defaults = ScalingSpec()
        switch value {
        case .count(let field):
            return scaling[keyPath: field] == defaults[keyPath: field] ? nil : String(scaling[keyPath: field])
        case .number(let field):
            return scaling[keyPath: field] == defaults[keyPath: field] ? nil : Self.text(scaling[keyPath: field])
        case .optionalNumber(let field):
            return scaling[keyPath: field].map(Self.text)
        case .duration(let field):
            return scaling[keyPath: field] == defaults[keyPath: field] ? nil : scaling[keyPath: field].description
        }
    }

    private static func decimal(_ text: String) -> Double? {
        Double(text).flatMap { $0.isFinite ? $0 : nil }
    }

    /// `70`, not `70.0`; `2.5` as is. Swift prints the shortest text that reads back exactly.
    static func text(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }
}
