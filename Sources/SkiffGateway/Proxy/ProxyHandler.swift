import Logging
import NIOCore
import NIOHTTP1

/// The client-side end of the proxy: routes each request, drives ``ProxyStateMachine`` and
/// carries out its actions on the client and upstream channels.
///
/// Both channels live on the same event loop, so handing data across is a method call.
/// Pipelined requests (a head arriving while the previous exchange runs) are held, with client
/// reads paused, and replayed in order; in the common case reads are never paused, so a
/// keep-alive request costs no epoll re-registration.
/// Backpressure: reads from the client are held while the upstream is not writable (or not
/// connected yet); ``UpstreamHandler`` holds backend reads while the client is not writable.
/// Writes are flushed once per read burst, not per part.
final class ProxyHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let loop: LoopContext
    private let domain: String
    private let observer: GatewayObserver?
    private let logger: Logger
    private var stateMachine = ProxyStateMachine()
    private var context: ChannelHandlerContext?
    private var client = ClientAddress(nil)

    /// Host header → route of the previous request: clients reuse one host per connection.
    private var lastHost: String?
    private var lastHostRoute: HostRoute?
    private var lastForwardedElement: String?

    // The running exchange.
    private var upstream: UpstreamHandler?
    private var slot: BackendSlot?
    private var hostRoute: HostRoute?
    private var revision: RevisionRoute?
    /// Set while the request waits in its revision's queue for an instance.
    private var queued: QueuedRequest?
    private var queuedAt: NIODeadline?
    private var waited: TimeAmount = .zero
    private var thawed = false
    private var thawDuration: TimeAmount = .zero
    private var timeouts = ExchangeTimeouts()
    /// One timer per connection, re-armed lazily: most requests finish long before it fires.
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline = .distantFuture
    private var requestVersion = HTTPVersion.http1_1
    private var requestMethod = HTTPMethod.GET
    private var responseStatus = 0
    private var startedAt: NIODeadline?

    private var clientReadPending = false
    private var upstreamNeedsFlush = false
    /// Parts of pipelined requests waiting for the running exchange to finish.
    private var pipelined = CircularBuffer<HTTPServerRequestPart>()
    private var isReplaying = false

    init(loop: LoopContext, domain: String, observer: GatewayObserver?, logger: Logger) {
        self.loop = loop
        self.domain = domain
        self.observer = observer
        self.logger = logger
    }

    /// Installs the HTTP server codec and a proxy handler on a client connection.
    static func configure(
        _ pipeline: ChannelPipeline.SynchronousOperations,
        loop: LoopContext,
        domain: String,
        observer: GatewayObserver?,
        logger: Logger
    ) throws {
        // Response headers come from a backend whose parser already accepted them. Pipelining,
        // quiescing and malformed requests are handled here: NIO's pipelining handler pauses
        // reads after every request, which costs two epoll_ctl calls per keep-alive request,
        // and its error handler is one more hop for every part of every message.
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withErrorHandling: false,
            withOutboundHeaderValidation: false
        )
        try pipeline.addHandler(ProxyHandler(loop: loop, domain: domain, observer: observer, logger: logger))
    }

    var isClientWritable: Bool {
        self.context?.channel.isWritable ?? false
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.client = ClientAddress(context.channel.remoteAddress)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.leaveQueue()
        self.timer?.cancel()
        self.timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.client = ClientAddress(context.channel.remoteAddress)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = self.unwrapInboundIn(data)
        if !self.pipelined.isEmpty {
            self.pipelined.append(part)
            return
        }
        if case .head = part, !self.stateMachine.isIdle, !self.stateMachine.isClosed {
            self.pipelined.append(part)
            return
        }
        self.process(part)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            self.pipelined.removeAll()
            self.run(self.stateMachine.quiesce())
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func process(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head):
            self.receivedHead(head)
        case .body(let buffer):
            self.noteActivity()
            self.run(self.stateMachine.requestBody(buffer))
        case .end(let trailers):
            self.run(self.stateMachine.requestEnd(trailers))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.upstreamNeedsFlush {
            self.upstreamNeedsFlush = false
            self.upstream?.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.upstream?.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.run(self.stateMachine.clientClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            self.logger.debug("malformed request", metadata: ["error": "\(error)"])
            self.pipelined.removeAll()
            self.run(self.stateMachine.clientProtocolError())
            return
        }
        self.logger.debug("client connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if self.mayReadFromClient {
            context.read()
        } else {
            self.clientReadPending = true
        }
    }

    // MARK: Upstream events (from UpstreamHandler)

    func upstreamRead(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head):
            let framed = ProxyHeaders.isFramedForClient(
                head,
                requestMethod: self.requestMethod,
                clientVersion: self.requestVersion
            )
            self.run(self.stateMachine.responseHead(head, framedForClient: framed))
        case .body(let buffer):
            self.noteActivity()
            self.run(self.stateMachine.responseBody(buffer))
        case .end(let trailers):
            let keepAlive = self.upstream?.isReusable ?? false
            self.run(self.stateMachine.responseEnd(trailers, upstreamKeepAlive: keepAlive))
        }
    }

    func upstreamReadComplete() {
        self.context?.flush()
    }

    func upstreamBecameWritable() {
        self.resumeClientReading()
    }

    func upstreamClosed(_ upstream: UpstreamHandler) {
        guard upstream === self.upstream else { return }
        self.upstream = nil
        self.run(self.stateMachine.upstreamClosed())
    }

    // MARK: Requests

    private func receivedHead(_ head: HTTPRequestHead) {
        self.requestVersion = head.version
        self.requestMethod = head.method
        self.responseStatus = 0
        self.hostRoute = nil
        if self.observer != nil {
            self.startedAt = .now()
        }
        let disposition = self.route(head)
        let action = self.stateMachine.requestHead(
            disposition,
            clientKeepAlive: head.isKeepAlive,
            hasBody: Self.hasBody(head.headers)
        )
        self.run(action)
    }

    private func route(_ head: HTTPRequestHead) -> ProxyStateMachine.Disposition {
        guard let host = head.headers.first(name: "host"), !host.isEmpty else {
            return .reject(.badRequest, "missing Host header\n")
        }
        let hostRoute: HostRoute
        if host == self.lastHost, let cached = self.lastHostRoute {
            hostRoute = cached
        } else {
            guard let parsed = HostRoute(host: host, domain: self.domain) else {
                return .reject(.notFound, "no service for host \"\(host)\"\n")
            }
            self.lastHost = host
            self.lastHostRoute = parsed
            self.lastForwardedElement = ProxyHeaders.forwardedElement(host: host, client: self.client)
            hostRoute = parsed
        }
        self.hostRoute = hostRoute
        guard let service = self.loop.route(for: hostRoute.key) else {
            return .reject(.notFound, "no service for host \"\(host)\"\n")
        }
        let target = service.choose(random: self.loop.nextRandom)
        self.revision = target.revision
        // One clock read per request: the observer's start time serves the timeouts too.
        self.timeouts.start(target.revision.settings, at: self.startedAt)
        if let slot = target.acquire(seed: self.loop.nextRandom()) {
            self.use(slot)
        } else {
            switch self.enqueue(on: target.revision) {
            case .queued:
                break
            case .full:
                return .reject(.tooManyRequests, "too many requests waiting for service \"\(hostRoute.key)\"\n")
            case .disabled:
                return .reject(.serviceUnavailable, "no ready instance for service \"\(hostRoute.key)\"\n")
            }
        }
        self.armTimer()
        let upstreamHead = ProxyHeaders.upstreamRequestHead(
            from: head, host: host, client: self.client, forwardedElement: self.lastForwardedElement)
        let sendContinue =
            head.version.minor >= 1 && head.headers["expect"].contains { $0.equalsIgnoringASCIICase("100-continue") }
        let retryable = head.method == .GET || head.method == .HEAD || head.method == .OPTIONS
        return .forward(upstreamHead, sendContinue: sendContinue, retryable: retryable)
    }

    /// Takes an instance whose capacity was acquired for this request; thaws it if frozen.
    private func use(_ slot: BackendSlot) {
        self.slot = slot
        var thawStarted = NIODeadline.distantPast
        if slot.thawIfFrozen({
            thawStarted = .now()
            self.loop.table.thaw?(slot.backend.id)
        }) {
            self.thawed = true
            self.thawDuration = NIODeadline.now() - thawStarted
        }
    }

    private func enqueue(on revision: RevisionRoute) -> RevisionRoute.QueueOutcome {
        guard let context = self.context else { return .disabled }
        let outcome = revision.enqueue(eventLoop: context.eventLoop, key: self.hostRoute?.key ?? "") { [weak self] slot in
            // The request may have ended (timeout, client gone) while the instance was on its
            // way; the queue then takes it back.
            guard let self, self.isWaiting(on: revision) else { return false }
            self.instanceAvailable(slot)
            return true
        }
        if case .queued(let request) = outcome {
            self.queued = request
            self.queuedAt = .now()
        }
        return outcome
    }

    private func isWaiting(on revision: RevisionRoute) -> Bool {
        self.queued != nil && self.revision === revision && self.stateMachine.isWaitingForUpstream
    }

    /// The activator handed this request an instance (or sent it back to be routed again).
    private func instanceAvailable(_ slot: BackendSlot?) {
        self.queued = nil
        if let queuedAt = self.queuedAt {
            self.waited = NIODeadline.now() - queuedAt
            self.queuedAt = nil
        }
        if let slot {
            self.use(slot)
            self.acquireUpstream(fresh: false)
            return
        }
        // The revision left the table: route again to whatever serves the host now.
        guard let key = self.hostRoute?.key, let service = self.loop.route(for: key) else {
            self.run(self.stateMachine.upstreamFailed(status: .serviceUnavailable, "service is gone\n"))
            return
        }
        let target = service.choose(random: self.loop.nextRandom)
        self.revision = target.revision
        if let slot = target.acquire(seed: self.loop.nextRandom()) {
            self.use(slot)
            self.acquireUpstream(fresh: false)
            return
        }
        switch self.enqueue(on: target.revision) {
        case .queued:
            break
        case .full:
            self.run(self.stateMachine.upstreamFailed(status: .tooManyRequests, "too many requests waiting\n"))
        case .disabled:
            self.run(self.stateMachine.upstreamFailed(status: .serviceUnavailable, "no ready instance\n"))
        }
    }

    /// Leaves the revision's queue, if the request is in it.
    private func leaveQueue() {
        guard let request = self.queued else { return }
        self.queued = nil
        self.queuedAt = nil
        _ = self.revision?.cancel(request)
    }

    // MARK: Timeouts

    private func armTimer() {
        guard let deadline = self.timeouts.nextDeadline, let context = self.context else { return }
        if self.timer != nil, self.timerDeadline <= deadline { return }
        self.timer?.cancel()
        self.timerDeadline = deadline
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.timerFired()
        }
    }

    private func timerFired() {
        self.timer = nil
        self.timerDeadline = .distantFuture
        guard self.timeouts.isActive else { return }
        let now = NIODeadline.now()
        if let expired = self.timeouts.expired(at: now) {
            self.logger.debug("request timed out", metadata: ["timeout": "\(expired)"])
            self.leaveQueue()
            self.run(self.stateMachine.timedOut(expired.message))
            return
        }
        self.armTimer()
    }

    /// Bytes moved: the idle timeout starts again.
    @inline(__always)
    private func noteActivity() {
        if self.timeouts.tracksIdle { self.timeouts.lastActivity = .now() }
    }

    private static func hasBody(_ headers: HTTPHeaders) -> Bool {
        if headers.contains(name: "transfer-encoding") { return true }
        guard let length = headers.first(name: "content-length") else { return false }
        return length != "0"
    }

    // MARK: Actions

    private func run(_ action: ProxyStateMachine.Action) {
        guard let context = self.context else { return }
        switch action {
        case .none:
            break

        case .acquireUpstream(let fresh, let sendContinue):
            if sendContinue {
                let head = HTTPResponseHead(version: self.requestVersion, status: .continue)
                context.writeAndFlush(self.wrapOutboundOut(.head(head)), promise: nil)
            }
            self.acquireUpstream(fresh: fresh)

        case .sendRequest(let head, let body, let end):
            guard let upstream = self.upstream else { return }
            upstream.write(.head(head))
            for part in body {
                upstream.write(.body(.byteBuffer(part)))
            }
            if let end {
                upstream.write(.end(end.trailers))
            }
            upstream.flush()
            self.upstreamNeedsFlush = false
            self.resumeClientReading()

        case .forwardRequestBody(let buffer):
            self.upstream?.write(.body(.byteBuffer(buffer)))
            self.upstreamNeedsFlush = true

        case .forwardRequestEnd(let trailers):
            self.upstream?.write(.end(trailers))
            self.upstreamNeedsFlush = true

        case .sendLocalResponse(let status, let message, let closeClient):
            self.detachUpstream()?.close()
            self.responseStatus = Int(status.code)
            self.finishExchange()
            self.writeLocalResponse(status, message, closeClient: closeClient, context: context)

        case .forwardResponseHead(let head, let clientKeepAlive):
            self.timeouts.responseStarted()
            self.responseStatus = Int(head.status.code)
            let clientHead = ProxyHeaders.clientResponseHead(
                from: head,
                version: self.requestVersion,
                keepAlive: clientKeepAlive
            )
            context.write(self.wrapOutboundOut(.head(clientHead)), promise: nil)

        case .forwardResponseBody(let buffer):
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)

        case .finishResponse(let trailers, let disposition, let closeClient):
            // Let go of the exchange before writing the end: the server pipeline may hand us
            // the next pipelined request from inside that write.
            if let upstream = self.detachUpstream() {
                if disposition == .pool {
                    self.loop.pool.put(upstream)
                } else {
                    upstream.close()
                }
            }
            self.finishExchange()
            self.writeEnd(trailers, closeClient: closeClient, context: context)

        case .retry:
            self.detachUpstream()?.close()
            self.acquireUpstream(fresh: true)

        case .abort:
            self.detachUpstream()?.close()
            self.finishExchange()
            context.close(promise: nil)

        case .releaseUnusedUpstream:
            break

        case .closeClient:
            context.close(promise: nil)
        }
        if !self.pipelined.isEmpty, self.stateMachine.isIdle {
            self.replayPipelined()
        }
        // Reads held while connecting must resume however the wait ended.
        if self.clientReadPending {
            self.resumeClientReading()
        }
    }

    /// Feeds held pipelined parts through, up to the next request head that must wait.
    private func replayPipelined() {
        guard !self.isReplaying else { return }
        self.isReplaying = true
        defer { self.isReplaying = false }
        while let next = self.pipelined.first {
            if case .head = next, !self.stateMachine.isIdle { break }
            self.process(self.pipelined.removeFirst())
        }
        if self.upstreamNeedsFlush {
            self.upstreamNeedsFlush = false
            self.upstream?.flush()
        }
    }

    private func acquireUpstream(fresh: Bool) {
        if self.queued != nil { return }  // the activator calls back with an instance
        guard let slot = self.slot else {
            self.run(self.stateMachine.upstreamFailed())
            return
        }
        if !fresh, let upstream = self.loop.pool.take(for: slot) {
            self.attach(upstream)
            self.run(self.stateMachine.upstreamReady(reused: true))
            return
        }
        self.loop.pool.connect(to: slot).assumeIsolated().whenComplete { result in
            self.connectCompleted(result, slot: slot)
        }
    }

    private func connectCompleted(_ result: Result<any Channel, any Error>, slot: BackendSlot) {
        switch result {
        case .success(let channel):
            guard let upstream = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                channel.close(promise: nil)
                self.run(self.stateMachine.upstreamFailed())
                return
            }
            let action = self.stateMachine.upstreamReady(reused: false)
            if case .releaseUnusedUpstream = action {
                self.loop.pool.put(upstream)
                return
            }
            self.attach(upstream)
            self.run(action)
        case .failure(let error):
            self.logger.debug(
                "backend connection failed",
                metadata: ["backend": "\(slot.backend.id)", "error": "\(error)"]
            )
            self.run(self.stateMachine.upstreamFailed())
        }
    }

    private func attach(_ upstream: UpstreamHandler) {
        upstream.attach(to: self)
        self.upstream = upstream
    }

    private func detachUpstream() -> UpstreamHandler? {
        guard let upstream = self.upstream else { return nil }
        self.upstream = nil
        upstream.proxy = nil
        return upstream
    }

    /// Ends the exchange's accounting: the backend's in-flight count and the observer.
    private func finishExchange() {
        self.leaveQueue()
        self.timeouts.stop()
        let slot = self.slot
        if let slot {
            slot.release()
            self.slot = nil
        }
        let waited = self.waited
        let thawed = self.thawed
        let revision = self.revision
        self.waited = .zero
        self.thawed = false
        self.revision = nil
        revision?.counters.record(status: self.responseStatus)
        if let observer = self.observer, let startedAt = self.startedAt {
            self.startedAt = nil
            let nanoseconds = (NIODeadline.now() - startedAt).nanoseconds
            observer(
                GatewayRequestRecord(
                    service: self.hostRoute?.service,
                    tag: self.hostRoute?.tag,
                    revision: revision?.name,
                    backendID: slot?.backend.id,
                    status: self.responseStatus,
                    duration: .nanoseconds(nanoseconds),
                    queued: waited > .zero ? .nanoseconds(waited.nanoseconds) : nil,
                    thawed: thawed,
                    thawDuration: thawed ? .nanoseconds(self.thawDuration.nanoseconds) : nil
                )
            )
        }
    }

    // MARK: Writing to the client

    private func writeLocalResponse(
        _ status: HTTPResponseStatus,
        _ message: String,
        closeClient: Bool,
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(message.utf8.count))
        if status == .tooManyRequests || status == .serviceUnavailable {
            headers.add(name: "retry-after", value: "1")
        }
        if closeClient {
            headers.add(name: "connection", value: "close")
        } else if self.requestVersion.major == 1 && self.requestVersion.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: self.requestVersion, status: status, headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if self.requestMethod != .HEAD {
            let body = context.channel.allocator.buffer(string: message)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        self.writeEnd(nil, closeClient: closeClient, context: context)
    }

    private func writeEnd(_ trailers: HTTPHeaders?, closeClient: Bool, context: ChannelHandlerContext) {
        if closeClient {
            context.writeAndFlush(self.wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else {
            context.writeAndFlush(self.wrapOutboundOut(.end(trailers)), promise: nil)
        }
    }

    // MARK: Backpressure

    private var mayReadFromClient: Bool {
        if self.stateMachine.isWaitingForUpstream || !self.pipelined.isEmpty { return false }
        if let upstream = self.upstream, !upstream.isWritable { return false }
        return true
    }

    private func resumeClientReading() {
        guard self.clientReadPending, self.mayReadFromClient, let context = self.context else { return }
        self.clientReadPending = false
        context.read()
    }
}
