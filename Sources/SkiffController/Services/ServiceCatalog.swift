import SkiffModel
import SkiffRegistry
import SkiffStore

/// The services users asked for, as the controller runs them: each service's stored record,
/// its latest revision and the older revisions its traffic may route to, all with their images
/// resolved; and the newest revision of each that became ready, which is where `latest`
/// traffic goes.
///
/// A value with no I/O: the controller loads it from the store and writes back what changes;
/// the questions asked of it (what a service looks like, where its traffic goes, which
/// revisions run) are answered from it alone.
struct ServiceCatalog: Sendable {
    /// A revision with its image resolved: what instances are made from.
    struct Runnable: Sendable {
        var revision: Revision
        var image: ResolvedImage
    }

    /// One service as it should run.
    struct Entry: Sendable {
        var row: ServiceRow
        /// The latest revision.
        var revision: Revision
        var image: ResolvedImage
        /// Older revisions the traffic may route to (named by it, or the latest ready one).
        var others: [String: Runnable] = [:]

        var latest: Runnable { Runnable(revision: revision, image: image) }

        func runnable(_ name: String) -> Runnable? {
            name == revision.name ? latest : others[name]
        }
    }

    /// Services are reachable at `http://NAME.DOMAIN[:gatewayPort]/`.
    let domain: String
    let gatewayPort: Int
    private var entries: [ServiceName: Entry] = [:]
    /// The newest revision of each service that became ready.
    private(set) var latestReady: [ServiceName: String] = [:]
    /// Revisions that became ready and are not yet recorded as such in the store.
    private var readinessToRecord: [String] = []

    init(domain: String, gatewayPort: Int) {
        self.domain = domain
        self.gatewayPort = gatewayPort
    }

    subscript(name: ServiceName) -> Entry? {
        get { entries[name] }
        set { entries[name] = newValue }
    }

    /// Every service's name, sorted.
    var names: [ServiceName] { entries.keys.sorted() }

    /// The revision named `revision` of any service, if it may run.
    func runnable(_ revision: String) -> Runnable? {
        entries.values.lazy.compactMap { $0.runnable(revision) }.first
    }

    // MARK: Readiness

    /// Takes up a readiness the store recorded before this process started.
    mutating func restoreReady(_ revision: String, of service: ServiceName) {
        latestReady[service] = revision
    }

    /// Notes that `revision` reached its initial instances. Returns whether that made it the
    /// service's latest ready revision: it is the service's latest and was not ready before.
    mutating func noteReady(_ revision: String, of service: ServiceName) -> Bool {
        guard entries[service]?.revision.name == revision, latestReady[service] != revision else { return false }
        latestReady[service] = revision
        readinessToRecord.append(revision)
        return true
    }

    /// The readiness noted since the last call, for the store, oldest first.
    mutating func takeReadinessToRecord() -> [String] {
        defer { readinessToRecord = [] }
        return readinessToRecord
    }

    /// Marks a revision of `service` failed: it runs nothing from now on.
    mutating func setFailure(_ failure: RevisionFailure, of revision: String, service: ServiceName) {
        guard var entry = entries[service] else { return }
        if entry.revision.name == revision {
            entry.revision.failure = failure
        } else {
            entry.others[revision]?.revision.failure = failure
        }
        entries[service] = entry
    }

    // MARK: Queries

    /// `http://KEY.DOMAIN:PORT/` for a routing key (`NAME` or `TAG---NAME`).
    func url(of key: String) -> String {
        let port = gatewayPort == 80 ? "" : ":\(gatewayPort)"
        return "http://\(key).\(domain)\(port)/"
    }

    /// Where the service's requests go now: `latest` is the newest ready revision, or the
    /// latest revision itself while none has been ready (its requests wait for it).
    func resolvedTraffic(of name: ServiceName) -> [ResolvedTarget] {
        guard let entry = entries[name] else { return [] }
        return entry.row.traffic.resolved(latestReady: latestReady[name] ?? entry.revision.name).map { target in
            var target = target
            if let tag = target.tag { target.url = url(of: "\(tag)---\(name)") }
            return target
        }
    }

    /// Revisions of the service that run: the latest (so it becomes ready), and every
    /// revision with a share of the traffic or a tag; none that failed.
    func activeRevisions(of name: ServiceName) -> [Runnable] {
        guard let entry = entries[name] else { return [] }
        var names = [entry.revision.name]
        for target in resolvedTraffic(of: name) where target.percent > 0 || target.tag != nil {
            if !names.contains(target.revision) { names.append(target.revision) }
        }
        return names.compactMap { entry.runnable($0) }.filter { $0.revision.failure == nil }
    }

    /// (service, revision) of every active revision.
    var activeRevisions: [(service: String, revision: String)] {
        names.flatMap { name in activeRevisions(of: name).map { (name.rawValue, $0.revision.name) } }
    }

    /// The service as the API shows it, given its instances (any revision) and its rollout.
    func view(of name: ServiceName, instances: [Instance], rollout: RolloutStatus?) -> SkiffModel.Service? {
        guard let entry = entries[name] else { return nil }
        let current = instances.filter { $0.service == name && $0.revision == entry.revision.name }
        return SkiffModel.Service(
            name: name, spec: entry.row.spec, latestRevision: entry.revision.name,
            imageDigest: entry.revision.imageDigest, url: url(of: name.rawValue),
            createdAt: entry.row.createdAt, updatedAt: entry.row.updatedAt,
            readyInstances: current.filter { $0.state.isServing }.count,
            latestReadyRevision: latestReady[name],
            message: entry.revision.failure.map { "revision \(entry.revision.name) failed: \($0)" }
                ?? current.compactMap(\.message).first,
            traffic: entry.row.traffic, trafficStatus: resolvedTraffic(of: name),
            latestRevisionFailure: entry.revision.failure, rollout: rollout)
    }
}
