/// A container health check with Kubernetes' fields, meanings and defaults: one action
/// (`httpGet`, `tcpSocket` or `exec`) run every `periodSeconds`, passing after
/// `successThreshold` successes in a row and failing after `failureThreshold` failures.
public struct Probe: Codable, Sendable, Hashable {
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var exec: ExecAction?
    public var initialDelaySeconds: Int
    public var periodSeconds: Int
    public var timeoutSeconds: Int
    public var failureThreshold: Int
    public var successThreshold: Int

    public init(
        httpGet: HTTPGetAction? = nil, tcpSocket: TCPSocketAction? = nil, exec: ExecAction? = nil,
        initialDelaySeconds: Int = 0, periodSeconds: Int = 10, timeoutSeconds: Int = 1, failureThreshold: Int = 3,
        successThreshold: Int = 1
    ) {
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.exec = exec
        self.initialDelaySeconds = initialDelaySeconds
        self.periodSeconds = periodSeconds
        self.timeoutSeconds = timeoutSeconds
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
    }

    enum CodingKeys: String, CodingKey {
        case httpGet, tcpSocket, exec, initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold,
            successThreshold
    }

    /// Kubernetes' defaults for every field left out.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.httpGet = try container.decodeIfPresent(HTTPGetAction.self, forKey: .httpGet)
        self.tcpSocket = try container.decodeIfPresent(TCPSocketAction.self, forKey: .tcpSocket)
        self.exec = try container.decodeIfPresent(ExecAction.self, forKey: .exec)
        self.initialDelaySeconds = try container.decodeIfPresent(Int.self, forKey: .initialDelaySeconds) ?? 0
        self.periodSeconds = try container.decodeIfPresent(Int.self, forKey: .periodSeconds) ?? 10
        self.timeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .timeoutSeconds) ?? 1
        self.failureThreshold = try container.decodeIfPresent(Int.self, forKey: .failureThreshold) ?? 3
        self.successThreshold = try container.decodeIfPresent(Int.self, forKey: .successThreshold) ?? 1
    }

    /// What the probe does, exactly one of the three.
    public enum Action: Sendable, Hashable {
        case httpGet(HTTPGetAction)
        case tcpSocket(TCPSocketAction)
        case exec(ExecAction)
    }

    /// The action, when exactly one is set (``validate(_:)`` guarantees it).
    public var action: Action? {
        switch (httpGet, tcpSocket, exec) {
        case (let http?, nil, nil): .httpGet(http)
        case (nil, let tcp?, nil): .tcpSocket(tcp)
        case (nil, nil, let command?): .exec(command)
        default: nil
        }
    }

    /// Which of a container's probes this is; the rules differ slightly.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case startup, readiness, liveness
    }

    /// Kubernetes' rules: one action; delays and timeouts not negative, period and thresholds
    /// at least 1 (a readiness period may be 0: probe continuously, as Knative allows);
    /// startup and liveness probes need `successThreshold` 1.
    public func validate(_ kind: Kind) throws(ModelError) {
        let field = "\(kind.rawValue)Probe"
        func fail(_ message: String) -> ModelError { ModelError(.invalidValue, field: field, "\(field): \(message)") }
        let actions = [httpGet != nil, tcpSocket != nil, exec != nil].filter { $0 }.count
        guard actions == 1 else {
            throw fail(
                actions == 0 ? "needs one of httpGet, tcpSocket or exec" : "give only one of httpGet, tcpSocket or exec"
            )
        }
        if let httpGet { try httpGet.validate(fail) }
        if let port = tcpSocket?.port, !(1...65535).contains(port) {
            throw fail("invalid tcpSocket.port \(port): must be between 1 and 65535")
        }
        if let exec, exec.command.isEmpty || exec.command[0].isEmpty {
            throw fail("exec.command must name a program")
        }
        guard initialDelaySeconds >= 0 else { throw fail("initialDelaySeconds must not be negative") }
        guard periodSeconds >= (kind == .readiness ? 0 : 1) else { throw fail("periodSeconds must be at least 1") }
        guard timeoutSeconds >= 1 else { throw fail("timeoutSeconds must be at least 1") }
        guard failureThreshold >= 1 else { throw fail("failureThreshold must be at least 1") }
        guard successThreshold >= 1 else { throw fail("successThreshold must be at least 1") }
        if kind != .readiness, successThreshold != 1 {
            throw fail("successThreshold must be 1 for a \(kind.rawValue) probe")
        }
    }
}

/// An HTTP GET that passes on any status from 200 to 399.
public struct HTTPGetAction: Codable, Sendable, Hashable {
    public var path: String
    /// The container's port when nil (Knative's default).
    public var port: Int?
    public var httpHeaders: [HTTPHeader]

    public init(path: String = "/", port: Int? = nil, httpHeaders: [HTTPHeader] = []) {
        self.path = path
        self.port = port
        self.httpHeaders = httpHeaders
    }

    enum CodingKeys: String, CodingKey { case path, port, httpHeaders }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.path = try container.decodeIfPresent(String.self, forKey: .path) ?? "/"
        self.port = try container.decodeIfPresent(Int.self, forKey: .port)
        self.httpHeaders = try container.decodeIfPresent([HTTPHeader].self, forKey: .httpHeaders) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encodeIfPresent(port, forKey: .port)
        if !httpHeaders.isEmpty { try container.encode(httpHeaders, forKey: .httpHeaders) }
    }

    func validate(_ fail: (String) -> ModelError) throws(ModelError) {
        guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw fail("invalid httpGet.path \"\(path)\": must start with / and contain no spaces")
        }
        if let port, !(1...65535).contains(port) {
            throw fail("invalid httpGet.port \(port): must be between 1 and 65535")
        }
        for header in httpHeaders {
            let token = !header.name.isEmpty && header.name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x3A }
            guard token, !header.value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                throw fail("invalid httpGet header \"\(header.name)\"")
            }
        }
    }
}

public struct HTTPHeader: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A TCP connect that passes when the port accepts.
public struct TCPSocketAction: Codable, Sendable, Hashable {
    /// The container's port when nil.
    public var port: Int?
    public init(port: Int? = nil) { self.port = port }
}

/// A command run inside the container; exit status 0 passes.
public struct ExecAction: Codable, Sendable, Hashable {
    public var command: [String]
    public init(command: [String]) { self.command = command }
}

/// A container's probes. Unset means Knative's and the defaults: startup is a TCP
/// connect to the port with a 240 s budget, readiness the same connect, no liveness probe.
public struct Probes: Codable, Sendable, Hashable {
    public var startup: Probe?
    public var readiness: Probe?
    public var liveness: Probe?

    public init(startup: Probe? = nil, readiness: Probe? = nil, liveness: Probe? = nil) {
        self.startup = startup
        self.readiness = readiness
        self.liveness = liveness
    }

    public var isEmpty: Bool { startup == nil && readiness == nil && liveness == nil }

    public subscript(kind: Probe.Kind) -> Probe? {
        get {
            switch kind {
            case .startup: startup
            case .readiness: readiness
            case .liveness: liveness
            }
        }
        set {
            switch kind {
            case .startup: startup = newValue
            case .readiness: readiness = newValue
            case .liveness: liveness = newValue
            }
        }
    }

    public func validate() throws(ModelError) {
        for kind in Probe.Kind.allCases { try self[kind]?.validate(kind) }
    }

    /// How long a startup probe may fail before the instance is given up on, by default.
    public static let defaultStartupBudget: Duration = .seconds(240)
}

extension Probe {
    /// Parses gcloud's flag syntax: comma-separated `KEY=VALUE` with the keys
    /// `httpGet.path`, `httpGet.port`, `tcpSocket.port`, `exec.command` (words separated by
    /// spaces), `initialDelaySeconds`, `periodSeconds`, `timeoutSeconds`, `failureThreshold`
    /// and `successThreshold`. `httpGet.path=/ready,periodSeconds=2`; `tcpSocket.port=8080`.
    public init(parsing text: String, kind: Kind) throws(ModelError) {
        let flag = "--\(kind.rawValue)-probe"
        func fail(_ why: String) -> ModelError {
            ModelError(.invalidValue, field: "\(kind.rawValue)Probe", "invalid \(flag) \"\(text)\": \(why)")
        }
        self.init()
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            guard let equals = item.firstIndex(of: "=") else {
                throw fail("expected KEY=VALUE, e.g. httpGet.path=/ready")
            }
            let key = String(item[..<equals])
            let value = String(item[item.index(after: equals)...])
            func number() throws(ModelError) -> Int {
                guard let number = Int(value) else { throw fail("\(key) must be a whole number") }
                return number
            }
            switch key {
            case "httpGet.path": httpGet = HTTPGetAction(path: value, port: httpGet?.port)
            case "httpGet.port": httpGet = HTTPGetAction(path: httpGet?.path ?? "/", port: try number())
            case "tcpSocket.port": tcpSocket = TCPSocketAction(port: try number())
            case "exec.command": exec = ExecAction(command: value.split(separator: " ").map(String.init))
            case "initialDelaySeconds": initialDelaySeconds = try number()
            case "periodSeconds": periodSeconds = try number()
            case "timeoutSeconds": timeoutSeconds = try number()
            case "failureThreshold": failureThreshold = try number()
            case "successThreshold": successThreshold = try number()
            default:
                throw fail(
                    "unknown key \(key); use httpGet.path, httpGet.port, tcpSocket.port, exec.command, initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold or successThreshold"
                )
            }
        }
        // Only numbers given: a TCP check on the container's port, as the default startup probe.
        if httpGet == nil, tcpSocket == nil, exec == nil { tcpSocket = TCPSocketAction() }
        try validate(kind)
    }
}
