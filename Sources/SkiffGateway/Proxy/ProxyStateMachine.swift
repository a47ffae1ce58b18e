import NIOCore
import NIOHTTP1
import SkiffHTTP1

/// The life of one client connection as the proxy sees it: requests arrive one at a time
/// (the handler holds pipelined ones back), each is forwarded on an upstream
/// connection, and its response is streamed back.
///
/// Pure logic: events in, one action out; the handler performs the action. The handler does
/// the routing and header rewriting before feeding `requestHead`, and keeps the upstream
/// connection and the backend's in-flight counter; the state machine decides what happens to
/// them and when the exchange is over.
///
/// ```
/// idle ─head(forward)─▶ connecting ─upstreamReady─▶ forwarding ─responseEnd─▶ idle
///   │                      │ upstreamFailed              │ upstreamClosed before response
///   │ head(reject)         ▼                             ▼
///   └───────────────▶ local response ─▶ draining (rest of request body) ─▶ idle / closing
///
/// forwarding (upgrade request) ─101 head─▶ switching ─responseEnd─▶ tunnel ─either side closes─▶ closed
/// ```
///
/// An upgrade request (`Connection: upgrade` with `Upgrade`, such as a WebSocket handshake)
/// is routed and counted like any request; if the instance answers 101 the connection becomes
/// a byte tunnel that holds its instance's capacity until either side closes or a timeout
/// fires. Any other answer is forwarded unchanged and the client connection closes after it,
/// because its HTTP framing ended with the upgrade request.
struct ProxyStateMachine {
    /// What the handler decided after routing a request head.
    enum Disposition {
        /// Forward `head` (already rewritten for the upstream).
        ///
        /// - sendContinue: the client asked `Expect: 100-continue`; the proxy answers it itself.
        /// - retryable: the request has no body and an idempotent method, so it may be sent
        ///   again on a fresh connection if a pooled one turns out to be dead.
        /// - upgrade: the request asks to switch protocols (a WebSocket handshake).
        case forward(UpstreamRequest, sendContinue: Bool, retryable: Bool, upgrade: Bool = false)
        /// Answer locally (400, 404, 503).
        case reject(HTTPResponseStatus, String)
    }

    /// What to do with the upstream connection once a response is complete.
    enum UpstreamDisposition: Equatable {
        case pool
        case close
    }

    /// What becomes of the client connection once a response is complete.
    enum ClientDisposition: Equatable {
        case keepOpen
        case close
        /// Graceful shutdown began after the head went out promising keep-alive: the client
        /// may send its next request at any moment, so the connection lingers like an idle
        /// one (``lingerEnded()``) instead of closing under that request.
        case lingerThenClose
    }

    enum Action {
        case none
        /// Get an upstream connection: from the pool unless `fresh`, then report
        /// `upstreamReady` or `upstreamFailed`. Write `100 Continue` first if asked.
        case acquireUpstream(fresh: Bool, sendContinue: Bool)
        /// Write the request head, the body parts buffered while connecting, and the end if
        /// it already arrived; flush.
        case sendRequest(UpstreamRequest, body: [ByteBuffer], end: RequestEnd?)
        case forwardRequestBody(ByteBuffer)
        case forwardRequestEnd(HTTP1Headers?)
        /// Answer locally. The exchange is over: release any upstream (closing it) and the
        /// in-flight count; close the client connection after the response if `closeClient`.
        case sendLocalResponse(HTTPResponseStatus, String, closeClient: Bool)
        /// Forward the response head; `clientKeepAlive` says which `Connection` to announce.
        case forwardResponseHead(HTTP1Head, clientKeepAlive: Bool)
        /// Forward a `101 Switching Protocols` head, with its `Upgrade` and `Connection`.
        case forwardSwitchingHead(HTTP1Head)
        /// The switch is complete on both sides: splice the two connections' bytes. The
        /// exchange keeps its capacity until ``clientClosed()``, ``upstreamClosed()`` or a
        /// timeout aborts it.
        case startTunnel
        case forwardResponseBody(ByteBuffer)
        /// Forward the response end. The exchange is over: put the upstream back or close it,
        /// release the in-flight count, then keep, close or linger on the client connection.
        case finishResponse(HTTP1Headers?, upstream: UpstreamDisposition, client: ClientDisposition)
        /// Send the request again on a fresh connection (the pooled one died before answering).
        case retry
        /// Tear everything down: the exchange failed after the response started, or the
        /// client went away. Close the upstream (if any) and the client.
        case abort
        /// An upstream connection arrived for an exchange that no longer exists.
        case releaseUnusedUpstream
        /// Close the client connection (protocol misuse).
        case closeClient
        /// Graceful shutdown found the connection idle: call ``lingerEnded()`` after a short
        /// while, which closes it unless a request came meanwhile.
        case lingerBeforeClose
    }

    /// The request end, if it arrived while the upstream was being connected.
    struct RequestEnd {
        var trailers: HTTP1Headers?
    }

    private struct Pending {
        var head: UpstreamRequest
        /// Body parts read while connecting: an array, which allocates nothing until one comes.
        var body: [ByteBuffer]
        var end: RequestEnd?
        var clientKeepAlive: Bool
        var retryable: Bool
        var upgrade: Bool
    }

    private struct Exchange {
        var requestEnded: Bool
        var responseStarted: Bool
        var clientKeepAlive: Bool
        /// Kept only while a resend is allowed: no body, idempotent, sent on a reused
        /// connection, no response byte yet, not retried yet.
        var retryHead: UpstreamRequest?
        var upgrade: Bool
    }

    private enum State {
        case idle
        case connecting(Pending)
        case forwarding(Exchange)
        /// A response was completed before the request body: swallow the rest of it.
        case draining(closeAfter: Bool)
        /// The instance answered 101; its end completes the switch.
        case switching
        /// Bytes flow both ways, outside HTTP, until either side closes.
        case tunnel
        /// The connection is closing or closed; everything is ignored.
        case closed
    }

    private var state: State = .idle
    /// Graceful shutdown asked this connection to close after the running exchange.
    private var quiescing = false

    /// True while a request is being proxied or answered; graceful shutdown waits on it.
    var isIdle: Bool {
        if case .idle = self.state { return true }
        return false
    }

    /// True once the connection is closing; nothing more will be proxied on it.
    var isClosed: Bool {
        if case .closed = self.state { return true }
        return false
    }

    /// True while the handler should not read from the client: the request body has nowhere
    /// to go until the upstream connection is ready.
    var isWaitingForUpstream: Bool {
        if case .connecting = self.state { return true }
        return false
    }

    // MARK: Client events

    mutating func requestHead(_ disposition: Disposition, clientKeepAlive: Bool, hasBody: Bool) -> Action {
        var clientKeepAlive = clientKeepAlive && !self.quiescing
        guard case .idle = self.state else {
            if case .closed = self.state { return .none }
            self.state = .closed
            return .closeClient
        }
        switch disposition {
        case .forward(let head, let sendContinue, let retryable, let upgrade):
            // The client's HTTP framing ends with an upgrade request, whatever the answer.
            if upgrade { clientKeepAlive = false }
            self.state = .connecting(
                Pending(
                    head: head,
                    body: [],
                    end: nil,
                    clientKeepAlive: clientKeepAlive,
                    retryable: retryable && !hasBody,
                    upgrade: upgrade
                )
            )
            return .acquireUpstream(fresh: false, sendContinue: sendContinue)
        case .reject(let status, let message):
            // A body the client may or may not send (it might wait for 100-continue) leaves the
            // connection's framing uncertain: answer and close.
            let closeClient = !clientKeepAlive || hasBody
            self.state = closeClient ? .closed : .draining(closeAfter: false)
            return .sendLocalResponse(status, message, closeClient: closeClient)
        }
    }

    mutating func requestBody(_ buffer: ByteBuffer) -> Action {
        switch self.state {
        case .connecting(var pending):
            self.state = .closed  // avoid a copy of the buffer while mutating
            pending.body.append(buffer)
            self.state = .connecting(pending)
            return .none
        case .forwarding(let exchange):
            guard !exchange.requestEnded else { return .none }
            return .forwardRequestBody(buffer)
        case .draining, .closed, .switching, .tunnel:
            return .none
        case .idle:
            self.state = .closed
            return .closeClient
        }
    }

    mutating func requestEnd(_ trailers: HTTP1Headers?) -> Action {
        switch self.state {
        case .connecting(var pending):
            pending.end = RequestEnd(trailers: trailers)
            self.state = .connecting(pending)
            return .none
        case .forwarding(var exchange):
            guard !exchange.requestEnded else { return .none }
            exchange.requestEnded = true
            self.state = .forwarding(exchange)
            return .forwardRequestEnd(trailers)
        case .draining(let closeAfter):
            if closeAfter {
                self.state = .closed
                return .closeClient
            }
            self.state = .idle
            // The answer promised keep-alive: the next request may be on its way.
            return self.quiescing ? .lingerBeforeClose : .none
        case .closed, .switching, .tunnel:
            return .none
        case .idle:
            self.state = .closed
            return .closeClient
        }
    }

    /// The client connection closed or failed.
    mutating func clientClosed() -> Action {
        switch self.state {
        case .connecting, .forwarding, .switching, .tunnel:
            self.state = .closed
            return .abort
        case .idle, .draining, .closed:
            self.state = .closed
            return .none
        }
    }

    /// Graceful shutdown: close after the running exchange, or, when idle, after a short
    /// linger. A client may have sent its next request on an idle keep-alive connection
    /// already; closing it at once would lose that request (the client reads a reset). In
    /// the linger such a request is answered, with `Connection: close`.
    mutating func quiesce() -> Action {
        self.quiescing = true
        switch self.state {
        case .idle:
            return .lingerBeforeClose
        case .connecting, .forwarding, .draining, .closed, .switching, .tunnel:
            // A response still to come announces the close; one already out lingers after
            // its end (``ClientDisposition/lingerThenClose``). A tunnel runs until it ends or
            // the gateway's grace period closes it.
            return .none
        }
    }

    /// The linger of an idle connection at graceful shutdown is over: close it if it is still idle.
    mutating func lingerEnded() -> Action {
        guard case .idle = self.state else { return .none }
        self.state = .closed
        return .closeClient
    }

    /// The client sent bytes that are not HTTP/1.1: answer 400 unless a response already
    /// started, and close either way (the framing of the rest of the stream is unknown).
    mutating func clientProtocolError() -> Action {
        switch self.state {
        case .idle, .connecting, .draining:
            self.state = .closed
            return .sendLocalResponse(.badRequest, "malformed HTTP request\n", closeClient: true)
        case .forwarding(let exchange):
            self.state = .closed
            return exchange.responseStarted
                ? .abort : .sendLocalResponse(.badRequest, "malformed HTTP request\n", closeClient: true)
        case .switching, .tunnel:
            self.state = .closed
            return .abort
        case .closed:
            return .none
        }
    }

    // MARK: Upstream events

    mutating func upstreamReady(reused: Bool) -> Action {
        guard case .connecting(let pending) = self.state else {
            return .releaseUnusedUpstream
        }
        let retryHead = reused && pending.retryable ? pending.head : nil
        self.state = .forwarding(
            Exchange(
                requestEnded: pending.end != nil,
                responseStarted: false,
                clientKeepAlive: pending.clientKeepAlive,
                retryHead: retryHead,
                upgrade: pending.upgrade
            )
        )
        return .sendRequest(pending.head, body: pending.body, end: pending.end)
    }

    /// No upstream could be had: 502 by default, or what the activator decided (429, 503).
    mutating func upstreamFailed(
        status: HTTPResponseStatus = .badGateway, _ message: String = "backend unavailable\n"
    ) -> Action {
        guard case .connecting(let pending) = self.state else { return .none }
        return self.failBeforeResponse(
            requestEnded: pending.end != nil, clientKeepAlive: pending.clientKeepAlive, status: status, message)
    }

    /// A timeout passed: 504 if no response started (waiting for an instance, connecting,
    /// or waiting for the backend), otherwise the exchange is torn down.
    mutating func timedOut(_ message: String) -> Action {
        switch self.state {
        case .connecting(let pending):
            return self.failBeforeResponse(
                requestEnded: pending.end != nil, clientKeepAlive: pending.clientKeepAlive, status: .gatewayTimeout,
                message)
        case .forwarding(let exchange):
            if exchange.responseStarted {
                self.state = .closed
                return .abort
            }
            // The backend may still be reading the body or about to answer: close the client
            // too, since the rest of its request has nowhere to go.
            self.state = .closed
            return .sendLocalResponse(.gatewayTimeout, message, closeClient: true)
        case .switching, .tunnel:
            self.state = .closed
            return .abort
        case .idle, .draining, .closed:
            return .none
        }
    }

    /// The response head arrived. `framedForClient` says whether the client can find the end
    /// of this response without the connection closing (length, no body, or chunking).
    mutating func responseHead(_ head: HTTP1Head, framedForClient: Bool) -> Action {
        guard case .forwarding(var exchange) = self.state, !exchange.responseStarted else {
            return self.protocolViolation()
        }
        exchange.responseStarted = true
        exchange.retryHead = nil
        if head.status == 101 {
            // Only a requested switch, after the whole request: anything else leaves the
            // connection's framing unknown.
            guard exchange.upgrade, exchange.requestEnded else {
                self.state = .closed
                return .abort
            }
            self.state = .switching
            return .forwardSwitchingHead(head)
        }
        exchange.clientKeepAlive = exchange.clientKeepAlive && framedForClient && !self.quiescing
        self.state = .forwarding(exchange)
        return .forwardResponseHead(head, clientKeepAlive: exchange.clientKeepAlive)
    }

    mutating func responseBody(_ buffer: ByteBuffer) -> Action {
        guard case .forwarding(let exchange) = self.state, exchange.responseStarted else {
            return self.protocolViolation()
        }
        return .forwardResponseBody(buffer)
    }

    /// The response ended; `upstreamKeepAlive` says whether the backend allows reuse.
    mutating func responseEnd(_ trailers: HTTP1Headers?, upstreamKeepAlive: Bool) -> Action {
        if case .switching = self.state {
            self.state = .tunnel
            return .startTunnel
        }
        guard case .forwarding(let exchange) = self.state, exchange.responseStarted else {
            return self.protocolViolation()
        }
        if exchange.requestEnded {
            // `clientKeepAlive` is what the head announced; quiescing since then lingers.
            let client: ClientDisposition =
                !exchange.clientKeepAlive ? .close : self.quiescing ? .lingerThenClose : .keepOpen
            self.state = client == .close ? .closed : .idle
            return .finishResponse(trailers, upstream: upstreamKeepAlive ? .pool : .close, client: client)
        }
        // The backend answered before reading the whole body: that connection's framing is
        // unknown now, so close it; the client's remaining body is swallowed.
        self.state = .draining(closeAfter: !exchange.clientKeepAlive)
        return .finishResponse(trailers, upstream: .close, client: .keepOpen)
    }

    /// The upstream connection closed or failed while attached to this exchange.
    mutating func upstreamClosed() -> Action {
        switch self.state {
        case .switching, .tunnel:
            self.state = .closed
            return .abort
        default:
            break
        }
        guard case .forwarding(var exchange) = self.state else { return .none }
        if exchange.responseStarted {
            self.state = .closed
            return .abort
        }
        if let head = exchange.retryHead {
            exchange.retryHead = nil
            self.state = .connecting(
                Pending(
                    head: head,
                    body: [],
                    end: exchange.requestEnded ? RequestEnd(trailers: nil) : nil,
                    clientKeepAlive: exchange.clientKeepAlive,
                    retryable: false,
                    upgrade: exchange.upgrade
                )
            )
            return .retry
        }
        return self.failBeforeResponse(requestEnded: exchange.requestEnded, clientKeepAlive: exchange.clientKeepAlive)
    }

    // MARK: Private

    private mutating func failBeforeResponse(
        requestEnded: Bool, clientKeepAlive: Bool, status: HTTPResponseStatus = .badGateway,
        _ message: String = "backend unavailable\n"
    ) -> Action {
        let closeClient = !clientKeepAlive || !requestEnded || self.quiescing
        self.state = closeClient ? .closed : .idle
        return .sendLocalResponse(status, message, closeClient: closeClient)
    }

    private mutating func protocolViolation() -> Action {
        switch self.state {
        case .closed:
            return .none
        case .forwarding, .switching, .tunnel:
            self.state = .closed
            return .abort
        case .idle, .connecting, .draining:
            return .none
        }
    }
}
