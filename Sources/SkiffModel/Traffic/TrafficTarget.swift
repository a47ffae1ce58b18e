/// One entry of a service's traffic, as Knative Serving writes it: a revision (or whatever
/// revision is newest and ready), its share of the requests, and an optional tag that gives it
/// a URL of its own (`http://TAG---NAME.DOMAIN/`), even at 0 %.
public struct TrafficTarget: Codable, Sendable, Hashable {
    /// A fixed revision; nil when the target follows the latest ready revision.
    public var revisionName: String?
    /// Follows the service's newest ready revision, so a deploy moves it once the new
    /// revision is ready (and never to a revision that is not).
    public var latestRevision: Bool
    /// Share of the service's requests, 0 to 100; the targets of a service sum to 100.
    public var percent: Int
    public var tag: String?

    public init(revisionName: String?, latestRevision: Bool, percent: Int, tag: String? = nil) {
        self.revisionName = revisionName
        self.latestRevision = latestRevision
        self.percent = percent
        self.tag = tag
    }

    /// The newest ready revision.
    public static func latest(_ percent: Int = 100, tag: String? = nil) -> TrafficTarget {
        TrafficTarget(revisionName: nil, latestRevision: true, percent: percent, tag: tag)
    }

    /// A fixed revision.
    public static func revision(_ name: String, _ percent: Int, tag: String? = nil) -> TrafficTarget {
        TrafficTarget(revisionName: name, latestRevision: false, percent: percent, tag: tag)
    }

    /// What the target names, for messages: `web-00002` or `latest`.
    public var subject: String { revisionName ?? "latest" }

    enum CodingKeys: String, CodingKey {
        case revisionName, latestRevision, percent, tag
    }

    /// Knative's defaults: a target without `revisionName` follows the latest revision, and a
    /// missing percent is 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.revisionName = try container.decodeIfPresent(String.self, forKey: .revisionName)
        self.latestRevision =
            try container.decodeIfPresent(Bool.self, forKey: .latestRevision) ?? (self.revisionName == nil)
        self.percent = try container.decodeIfPresent(Int.self, forKey: .percent) ?? 0
        self.tag = try container.decodeIfPresent(String.self, forKey: .tag)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(revisionName, forKey: .revisionName)
        try container.encode(latestRevision, forKey: .latestRevision)
        try container.encode(percent, forKey: .percent)
        try container.encodeIfPresent(tag, forKey: .tag)
    }

    /// Every service starts with this: all requests to the newest ready revision.
    public static let allToLatest: [TrafficTarget] = [.latest()]
}

extension [TrafficTarget] {
    /// Checks a service's traffic on its own (not whether the revisions exist): each target
    /// names a revision of `service` or the latest, shares are 0–100 and sum to 100, tags are
    /// valid and unique.
    public func validate(service: ServiceName) throws(ModelError) {
        func fail(_ message: String) -> ModelError { ModelError(.invalidValue, field: "traffic", message) }
        guard !isEmpty else { throw fail("traffic needs at least one target") }
        var tags = Set<String>()
        for target in self {
            switch (target.revisionName, target.latestRevision) {
            case (nil, false):
                throw fail("a traffic target needs a revisionName, or latestRevision: true")
            case (.some(let name), true):
                throw fail("traffic target \(name) sets latestRevision: true as well; use one or the other")
            case (.some(let name), false):
                try Revision.validateName(name, service: service)
            case (nil, true):
                break
            }
            guard (0...100).contains(target.percent) else {
                throw fail("invalid percent \(target.percent) for \(target.subject): must be between 0 and 100")
            }
            if let tag = target.tag {
                try TrafficTag.validate(tag, service: service)
                guard tags.insert(tag).inserted else { throw fail("tag \(tag) is given twice") }
            }
        }
        let total = reduce(0) { $0 + $1.percent }
        guard total == 100 else {
            let shares = map { "\($0.subject)=\($0.percent)" }.joined(separator: " ")
            throw fail("traffic percentages must sum to 100, not \(total) (\(shares))")
        }
    }

    /// The revisions named explicitly, without duplicates, in order.
    public var revisionNames: [String] {
        var seen = Set<String>()
        return compactMap(\.revisionName).filter { seen.insert($0).inserted }
    }

    /// Resolves `latest` to a revision: what the gateway routes.
    public func resolved(latestReady: String) -> [ResolvedTarget] {
        map {
            ResolvedTarget(
                revision: $0.revisionName ?? latestReady, percent: $0.percent, tag: $0.tag, latest: $0.latestRevision)
        }
    }

    /// All requests to `revision` (nil: the latest ready one), the tags kept at 0 %: what
    /// a deploy, a rollback and a rollout's ends set.
    public func allTo(_ revision: String?) -> [TrafficTarget] {
        var result = tagsOnly
        if let revision {
            result.insert(.revision(revision, 100), at: 0)
        } else if let index = result.firstIndex(where: \.latestRevision) {
            // The latest is tagged already: that target takes the share, with its tag.
            result[index].percent = 100
        } else {
            result.insert(.latest(), at: 0)
        }
        return result
    }

    /// This traffic with its tags kept at 0 % and every share removed: what a change that
    /// gives all requests elsewhere keeps.
    public var tagsOnly: [TrafficTarget] {
        compactMap { target in
            guard target.tag != nil else { return nil }
            var kept = target
            kept.percent = 0
            return kept
        }
    }
}

/// A traffic target with `latest` resolved: where the gateway sends requests now.
public struct ResolvedTarget: Codable, Sendable, Hashable {
    public var revision: String
    public var percent: Int
    public var tag: String?
    /// It follows the latest ready revision.
    public var latest: Bool
    /// The tag's own URL, `http://TAG---NAME.DOMAIN/`.
    public var url: String?

    public init(revision: String, percent: Int, tag: String? = nil, latest: Bool = false, url: String? = nil) {
        self.revision = revision
        self.percent = percent
        self.tag = tag
        self.latest = latest
        self.url = url
    }
}

/// Traffic tags: DNS labels that become `TAG---NAME` hosts.
public enum TrafficTag {
    public static func validate(_ tag: String, service: ServiceName) throws(ModelError) {
        func fail(_ why: String) -> ModelError {
            ModelError(.invalidName, field: "tag", "invalid tag \"\(tag)\": \(why)")
        }
        let bytes = Array(tag.utf8)
        guard !bytes.isEmpty else { throw fail("must not be empty") }
        guard DNSLabel.hasOnlyLabelCharacters(tag) else {
            throw fail("use only lowercase letters, digits and '-' (a DNS label)")
        }
        guard let first = bytes.first, first >= 0x61 && first <= 0x7A else {
            throw fail("must start with a lowercase letter")
        }
        guard bytes.last != 0x2D, !tag.contains("--") else { throw fail("must not end with '-' or contain '--'") }
        let host = "\(tag)---\(service.rawValue)"
        guard host.utf8.count <= 63 else {
            throw fail("\(host) is longer than the 63 characters a host name label allows")
        }
    }
}

extension Revision {
    /// Revision names are DNS labels that start with the service's name and a dash, as
    /// Knative requires: `web-00002`, `web-blue`.
    public static func validateName(_ name: String, service: ServiceName) throws(ModelError) {
        func fail(_ why: String) -> ModelError {
            ModelError(.invalidName, field: "revision", "invalid revision name \"\(name)\": \(why)")
        }
        let bytes = Array(name.utf8)
        guard bytes.count <= 63 else { throw fail("must be at most 63 characters") }
        guard DNSLabel.hasOnlyLabelCharacters(name) else {
            throw fail("use only lowercase letters, digits and '-' (a DNS label)")
        }
        guard name.hasPrefix("\(service.rawValue)-"), bytes.count > service.rawValue.utf8.count + 1 else {
            throw fail("must start with the service name and a dash, e.g. \(service)-v2")
        }
        guard bytes.last != 0x2D else { throw fail("must not end with '-'") }
    }
}
