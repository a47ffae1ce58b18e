/// How a deploy treats the service's traffic: the extras of `PUT /v1/services/NAME` beside
/// the template.
public struct DeployOptions: Codable, Sendable, Hashable {
    /// The new revision's name instead of `NAME-0000N`: `NAME-SUFFIX`.
    public var revisionName: String?
    /// Keep the traffic where it is: targets that follow the latest revision are pinned to
    /// the revision they route to now, so the new one gets none.
    public var noTraffic: Bool
    /// Gives the new revision its own URL, `TAG---NAME`, whatever its share.
    public var tag: String?
    /// The traffic to set along with the template (Knative's `spec.traffic`), replacing it.
    public var traffic: [TrafficTarget]?
    /// Move traffic to the new revision in steps, watching its errors, instead of at once.
    public var rollout: RolloutPolicy?

    public init(
        revisionName: String? = nil, noTraffic: Bool = false, tag: String? = nil, traffic: [TrafficTarget]? = nil,
        rollout: RolloutPolicy? = nil
    ) {
        self.revisionName = revisionName
        self.noTraffic = noTraffic
        self.tag = tag
        self.traffic = traffic
        self.rollout = rollout
    }

    enum CodingKeys: String, CodingKey {
        case revisionName, noTraffic, tag, traffic, rollout
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.revisionName = try container.decodeIfPresent(String.self, forKey: .revisionName)
        self.noTraffic = try container.decodeIfPresent(Bool.self, forKey: .noTraffic) ?? false
        self.tag = try container.decodeIfPresent(String.self, forKey: .tag)
        self.traffic = try container.decodeIfPresent([TrafficTarget].self, forKey: .traffic)
        self.rollout = try container.decodeIfPresent(RolloutPolicy.self, forKey: .rollout)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(revisionName, forKey: .revisionName)
        if noTraffic { try container.encode(noTraffic, forKey: .noTraffic) }
        try container.encodeIfPresent(tag, forKey: .tag)
        try container.encodeIfPresent(traffic, forKey: .traffic)
        try container.encodeIfPresent(rollout, forKey: .rollout)
    }

    public func validate(service: ServiceName) throws(ModelError) {
        if let revisionName { try Revision.validateName(revisionName, service: service) }
        if let tag { try TrafficTag.validate(tag, service: service) }
        if let rollout {
            try rollout.validate()
            guard !noTraffic, traffic == nil else {
                throw ModelError(
                    .invalidValue, field: "rollout", "a gradual rollout moves the traffic itself; drop --no-traffic")
            }
        }
        if let traffic {
            guard !noTraffic, tag == nil else {
                throw ModelError(
                    .invalidValue, field: "traffic", "give either explicit traffic, or --no-traffic and --tag; not both"
                )
            }
            try traffic.validate(service: service)
        }
    }
}

/// The body of `PUT /v1/services/NAME`: the template, plus how to treat traffic. The JSON is
/// the template's with the options' keys beside it, so a bare template is a valid body.
public struct DeployRequest: Codable, Sendable, Hashable {
    public var spec: ServiceSpec
    public var options: DeployOptions

    public init(spec: ServiceSpec, options: DeployOptions = DeployOptions()) {
        self.spec = spec
        self.options = options
    }

    public init(from decoder: any Decoder) throws {
        self.spec = try ServiceSpec(from: decoder)
        self.options = try DeployOptions(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try spec.encode(to: encoder)
        try options.encode(to: encoder)
    }
}

extension [TrafficTarget] {
    /// The traffic once `revision` is deployed: Cloud Run's rules.
    ///
    /// - Without options, the latest revision gets 100 % (as soon as it is ready) and tags
    ///   stay, at 0 %.
    /// - `noTraffic` pins targets that follow the latest to `latestReady`, so the new
    ///   revision gets nothing; it needs a ready revision to pin to.
    /// - `tag` moves that tag to the new revision.
    /// - Explicit `traffic` replaces everything.
    public func afterDeploy(of revision: String, options: DeployOptions, latestReady: String?) throws(ModelError)
        -> [TrafficTarget]
    {
        if let traffic = options.traffic { return traffic }
        var result: [TrafficTarget]
        if options.noTraffic {
            guard let latestReady else {
                throw ModelError(
                    .invalidValue, field: "noTraffic",
                    "--no-traffic keeps traffic on the serving revision, and this service has none ready yet; deploy without it first"
                )
            }
            result = map { target in
                guard target.latestRevision else { return target }
                return .revision(latestReady, target.percent, tag: target.tag)
            }
        } else {
            result = allTo(nil)
        }
        if let tag = options.tag {
            result = result.removingTag(tag)
            result.append(.revision(revision, 0, tag: tag))
        }
        return result
    }

    /// This traffic with `tag` taken off its target; a target left with no share and no tag goes.
    func removingTag(_ tag: String) -> [TrafficTarget] {
        compactMap { target in
            guard target.tag == tag else { return target }
            var untagged = target
            untagged.tag = nil
            return untagged.percent == 0 ? nil : untagged
        }
    }
}

/// A change to a service's traffic as `skiff traffic` states it: new shares, tags to add,
/// tags to remove. Applied to the current traffic, it gives the new one.
public struct TrafficEdit: Sendable, Hashable {
    /// What a share or tag names: a revision, or the latest ready one.
    public enum Subject: Sendable, Hashable, CustomStringConvertible {
        case latest
        case revision(String)

        /// `@latest` (or `latest`) or a revision name.
        public init(_ text: String) {
            self = text == "@latest" || text == "latest" ? .latest : .revision(text)
        }

        public var description: String {
            switch self {
            case .latest: "@latest"
            case .revision(let name): name
            }
        }

        func matches(_ target: TrafficTarget) -> Bool {
            switch self {
            case .latest: target.latestRevision
            case .revision(let name): !target.latestRevision && target.revisionName == name
            }
        }

        func target(_ percent: Int, tag: String? = nil) -> TrafficTarget {
            switch self {
            case .latest: .latest(percent, tag: tag)
            case .revision(let name): .revision(name, percent, tag: tag)
            }
        }
    }

    public struct Share: Sendable, Hashable {
        public var subject: Subject
        public var percent: Int
        public init(_ subject: Subject, _ percent: Int) {
            self.subject = subject
            self.percent = percent
        }
    }

    public struct Tagging: Sendable, Hashable {
        public var subject: Subject
        public var tag: String
        public init(_ subject: Subject, tag: String) {
            self.subject = subject
            self.tag = tag
        }
    }

    /// New shares; when given, every target not named gets 0 %.
    public var shares: [Share]
    public var tags: [Tagging]
    public var untags: [String]

    public init(shares: [Share] = [], tags: [Tagging] = [], untags: [String] = []) {
        self.shares = shares
        self.tags = tags
        self.untags = untags
    }

    public var isEmpty: Bool { shares.isEmpty && tags.isEmpty && untags.isEmpty }

    /// The traffic after this change; validate the result against the service.
    public func applied(to current: [TrafficTarget]) throws(ModelError) -> [TrafficTarget] {
        var result = current
        for tag in untags {
            guard result.contains(where: { $0.tag == tag }) else {
                throw ModelError(.invalidValue, field: "untag", "no traffic target has the tag \(tag)")
            }
            result = result.map { target in
                var untagged = target
                if untagged.tag == tag { untagged.tag = nil }
                return untagged
            }
        }
        if !shares.isEmpty {
            var named = Set<Subject>()
            for share in shares where !named.insert(share.subject).inserted {
                throw ModelError(.invalidValue, field: "to", "\(share.subject) is given two shares")
            }
            for index in result.indices { result[index].percent = 0 }
            for share in shares {
                // The untagged target of the same revision takes the share; else a tagged one; else a new one.
                if let index = result.firstIndex(where: { share.subject.matches($0) && $0.tag == nil })
                    ?? result.firstIndex(where: { share.subject.matches($0) })
                {
                    result[index].percent = share.percent
                } else {
                    result.append(share.subject.target(share.percent))
                }
            }
        }
        for tagging in tags {
            result = result.removingTag(tagging.tag)
            if let index = result.firstIndex(where: { tagging.subject.matches($0) && $0.tag == nil }) {
                result[index].tag = tagging.tag
            } else {
                result.append(tagging.subject.target(0, tag: tagging.tag))
            }
        }
        return result.filter { $0.percent > 0 || $0.tag != nil }
    }
}

/// The body of `POST /v1/services/NAME/rollback`.
public struct RollbackRequest: Codable, Sendable, Hashable {
    /// The revision to send all traffic to; by default the newest ready revision older than
    /// the one serving most traffic.
    public var revision: String?

    public init(revision: String? = nil) {
        self.revision = revision
    }
}
