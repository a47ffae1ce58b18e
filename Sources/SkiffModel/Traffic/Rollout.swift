public import Foundation

/// How a deploy moves traffic to its new revision gradually: `step` percent every
/// `interval`, rolled back when the new revision's share of 5xx answers passes
/// `maxErrorRate` percent or any of its instances fails a probe.
public struct RolloutPolicy: Codable, Sendable, Hashable {
    public var step: Int
    public var interval: TimeSpan
    /// Percent of the new revision's answers that may be 5xx, e.g. 5.
    public var maxErrorRate: Double

    public init(step: Int = 10, interval: TimeSpan = .seconds(30), maxErrorRate: Double = 5) {
        self.step = step
        self.interval = interval
        self.maxErrorRate = maxErrorRate
    }

    /// Answers the new revision must have given before its error rate is judged: one 5xx
    /// among its first few requests is noise, not a verdict.
    public static let minimumSample = 20

    public func validate() throws(ModelError) {
        guard (1...100).contains(step) else {
            throw ModelError(
                .invalidValue, field: "rolloutStep", "invalid rollout step \(step): must be between 1 and 100 percent")
        }
        guard interval.duration >= .seconds(1), interval.duration <= .seconds(3600) else {
            throw ModelError(
                .invalidValue, field: "rolloutInterval",
                "invalid rollout interval \(interval): must be between 1s and 1h")
        }
        guard maxErrorRate >= 0, maxErrorRate <= 100 else {
            throw ModelError(
                .invalidValue, field: "rollbackOnErrorRate",
                "invalid error rate \(maxErrorRate)%: must be between 0 and 100 percent")
        }
    }
}

/// A gradual rollout as the API shows it: where it stands, or how it ended.
public struct RolloutStatus: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, Hashable {
        /// Waiting for the new revision to become ready.
        case waiting
        case progressing
        case finished
        case rolledBack
        /// The new revision failed, or someone changed the traffic by hand.
        case aborted
    }

    public var from: String
    public var to: String
    public var policy: RolloutPolicy
    public var state: State
    /// The new revision's share now.
    public var percent: Int
    /// Its answers and 5xx answers since it first took traffic.
    public var responses: Int
    public var serverErrors: Int
    public var message: String?
    public var startedAt: Date
    /// The service's traffic when the rollout began, the new revision at 0 %: each step
    /// scales its shares down to what the new revision leaves, and a rollback restores it.
    /// So a split in place (90 % on one revision, 10 % on a canary) shrinks evenly instead of
    /// collapsing onto `from`. Nil in rollouts stored before it was kept: they start from
    /// `from` alone.
    public var base: [TrafficTarget]?

    public init(from: String, to: String, policy: RolloutPolicy, base: [TrafficTarget]? = nil, startedAt: Date = Date())
    {
        self.from = from
        self.to = to
        self.policy = policy
        self.base = base
        self.state = .waiting
        self.percent = 0
        self.responses = 0
        self.serverErrors = 0
        self.startedAt = startedAt
    }

    public var isActive: Bool { state == .waiting || state == .progressing }

    /// Percent of the new revision's answers that were 5xx.
    public var errorRate: Double { responses == 0 ? 0 : Double(serverErrors) * 100 / Double(responses) }

    /// Whether the new revision's errors call for a rollback: enough answers to judge, and
    /// a rate above the policy's.
    public var errorsExceeded: Bool {
        responses >= RolloutPolicy.minimumSample && errorRate > policy.maxErrorRate
    }

    /// The next share after `percent`, at most 100.
    public var nextPercent: Int { min(100, percent + policy.step) }

    /// Where a rollback sends the traffic, for messages: `web-00002`, or the split
    /// `web-00001=90%, web-00002=10%`.
    public var baseDescription: String {
        let shares = (base ?? [.revision(from, 100)]).filter { $0.percent > 0 }
        if shares.count == 1, let only = shares.first { return only.revisionName ?? from }
        return shares.map { "\($0.revisionName ?? from)=\($0.percent)%" }.joined(separator: ", ")
    }

    /// The traffic this state calls for, `current`'s tags kept: everything to the latest
    /// once the new revision has 100 %; otherwise the base scaled to the rest, the new
    /// revision taking `percent` (on its tagged target, if it has one). At 0 %, after a
    /// rollback, that is the base itself.
    public func traffic(current: [TrafficTarget]) -> [TrafficTarget] {
        if percent >= 100 { return current.allTo(nil) }
        let base = self.base ?? [.revision(from, 100)] + current.tagsOnly
        var result = base.scaled(to: 100 - percent)
        guard percent > 0 else { return result }
        if let index = result.firstIndex(where: { $0.revisionName == to && $0.percent == 0 }) {
            result[index].percent = percent
        } else {
            result.append(.revision(to, percent))
        }
        return result
    }
}

extension [TrafficTarget] {
    /// These shares, which sum to 100, scaled to sum to `total` by the largest remainder
    /// (ties to the earlier target), in order. A target that ends at 0 % goes unless it
    /// carries a tag.
    public func scaled(to total: Int) -> [TrafficTarget] {
        guard total != 100 else { return self }
        var result = self
        var remainders: [(index: Int, remainder: Int)] = []
        var assigned = 0
        for index in indices {
            let exact = self[index].percent * total
            result[index].percent = exact / 100
            assigned += exact / 100
            remainders.append((index, exact % 100))
        }
        let largestFirst = remainders.sorted { ($0.remainder, -$0.index) > ($1.remainder, -$1.index) }
        for entry in largestFirst.prefix(total - assigned) {
            result[entry.index].percent += 1
        }
        return result.filter { $0.percent > 0 || $0.tag != nil }
    }
}
