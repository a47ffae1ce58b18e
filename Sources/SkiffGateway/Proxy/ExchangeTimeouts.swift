import NIOCore

/// The deadlines of the running exchange: response start, whole request, and idle.
///
/// Plain values on the connection's loop; the proxy keeps one timer per connection and asks
/// this which deadline comes next, so a request that finishes in time costs no timer work.
struct ExchangeTimeouts {
    enum Expired: CustomStringConvertible {
        case responseStart(TimeAmount)
        case request(TimeAmount)
        case idle(TimeAmount)

        var description: String {
            switch self {
            case .responseStart: "response start"
            case .request: "request"
            case .idle: "idle"
            }
        }

        var message: String {
            switch self {
            case .responseStart(let limit):
                "no response started within the response-start timeout (\(Self.text(limit)))\n"
            case .request(let limit): "the request took longer than its timeout (\(Self.text(limit)))\n"
            case .idle(let limit): "no bytes moved for the idle timeout (\(Self.text(limit)))\n"
            }
        }

        private static func text(_ amount: TimeAmount) -> String {
            let ms = amount.nanoseconds / 1_000_000
            return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms)ms"
        }
    }

    private var responseStartLimit: TimeAmount?
    private var requestLimit: TimeAmount?
    private var idleLimit: TimeAmount?
    private var startedAt: NIODeadline = .distantPast
    private var responseHasStarted = false
    private(set) var isActive = false
    var lastActivity: NIODeadline = .distantPast

    var tracksIdle: Bool { self.isActive && self.idleLimit != nil }

    /// - Parameter now: the request's arrival; read only when the revision has a timeout.
    mutating func start(_ settings: RevisionSettings, at now: @autoclosure () -> NIODeadline) {
        self.responseStartLimit = settings.responseStartTimeout.map(TimeAmount.init)
        self.requestLimit = settings.requestTimeout.map(TimeAmount.init)
        self.idleLimit = settings.idleTimeout.map(TimeAmount.init)
        self.responseHasStarted = false
        self.isActive = self.responseStartLimit != nil || self.requestLimit != nil || self.idleLimit != nil
        if self.isActive {
            self.startedAt = now()
            self.lastActivity = self.startedAt
        }
    }

    /// Shortens the whole-request limit to `limit` (a gRPC call's own deadline), if shorter.
    mutating func limitRequest(to limit: TimeAmount, at now: @autoclosure () -> NIODeadline) {
        if let current = self.requestLimit, current <= limit { return }
        self.requestLimit = limit
        if !self.isActive {
            self.isActive = true
            self.startedAt = now()
            self.lastActivity = self.startedAt
        }
    }

    mutating func responseStarted() {
        self.responseHasStarted = true
    }

    mutating func stop() {
        self.isActive = false
    }

    /// The earliest deadline still pending.
    var nextDeadline: NIODeadline? {
        guard self.isActive else { return nil }
        var next: NIODeadline?
        func consider(_ deadline: NIODeadline) { next = min(next ?? deadline, deadline) }
        if !self.responseHasStarted, let limit = self.responseStartLimit { consider(self.startedAt + limit) }
        if let limit = self.requestLimit { consider(self.startedAt + limit) }
        if let limit = self.idleLimit { consider(self.lastActivity + limit) }
        return next
    }

    /// The timeout that has passed at `now`, if any.
    func expired(at now: NIODeadline) -> Expired? {
        guard self.isActive else { return nil }
        if !self.responseHasStarted, let limit = self.responseStartLimit, now >= self.startedAt + limit {
            return .responseStart(limit)
        }
        if let limit = self.requestLimit, now >= self.startedAt + limit { return .request(limit) }
        if let limit = self.idleLimit, now >= self.lastActivity + limit { return .idle(limit) }
        return nil
    }
}
