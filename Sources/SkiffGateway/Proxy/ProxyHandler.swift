import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import SkiffBalancing

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
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let loop: LoopContext
    /// Serves one HTTP/2 stream (one request) rather than an HTTP/1.1 connection.
    private let isHTTP2Stream: Bool
    /// An HTTP/2 request head, held until the next part tells whether a body follows; or an
    /// HTTP/1.1 request asking for h2c, held until its end switches the connection.
    private var heldHead: HTTPRequestHead?
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

    /// The running exchange, or the last one until the next request head.
    private var exchange = ProxyExchange()
    /// One timer per connection, re-armed lazily: most requests finish long before it fires.
    /// How long an idle connection stays open at graceful shutdown for a request the
    /// client may have sent already (see ``ProxyStateMachine/quiesce()``).
    static let shutdownLinger: TimeAmount = .milliseconds(250)
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline = .distantFuture

    private var clientReadPending = false
    private var upstreamNeedsFlush = false
    /// Parts of pipelined requests waiting for the running exchange to finish.
    /// Starts at one slot: it stays empty for nearly every connection, and 10,000 idle
    /// connections should not hold 16 slots each.
    private var pipelined = CircularBuffer<HTTPServerRequestPart>(initialCapacity: 1)
    private var isReplaying = false

    init(loop: LoopContext, domain: String, observer: GatewayObserver?, logger: Logger, isHTTP2Stream: Bool = false) {
        self.loop = loop
        self.isHTTP2Stream = isHTTP2Stream
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

    /// Installs the HTTP/2-to-HTTP/1 codec and a proxy handler on one HTTP/2 stream: each
    /// stream is a request, routed, queued and counted like one on an HTTP/1.1 connection.
    static func configureStream(
        _ pipeline: ChannelPipeline.SynchronousOperations,
        loop: LoopContext,
        domain: String,
        observer: GatewayObserver?,
        logger: Logger
    ) throws {
        try pipeline.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
        try pipeline.addHandler(
            ProxyHandler(loop: loop, domain: domain, observer: observer, logger: logger, isHTTP2Stream: true))
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
        self.exchange.leaveQueue()
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
            if self.isHTTP2Stream {
                // HTTP/2 carries no framing headers: whether a body follows shows only with the
                // next frame (or its absence in this read).
                self.heldHead = head
                return
            }
            if HTTP2Server.isUpgradeRequest(head), self.stateMachine.isIdle {
                self.heldHead = head
                return
            }
            self.receivedHead(head, bodyFollows: nil)
        case .body(let buffer):
            if let head = self.heldHead {
                self.heldHead = nil
                self.receivedHead(head, bodyFollows: self.isHTTP2Stream ? true : nil)
            }
            self.noteActivity()
            self.run(self.stateMachine.requestBody(buffer))
        case .end(let trailers):
            if let head = self.heldHead {
                self.heldHead = nil
                if !self.isHTTP2Stream, self.upgradeToHTTP2(head) { return }
                self.receivedHead(head, bodyFollows: self.isHTTP2Stream ? false : nil)
            }
            self.run(self.stateMachine.requestEnd(trailers))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.isHTTP2Stream, let head = self.heldHead {
            self.heldHead = nil
            self.receivedHead(head, bodyFollows: true)
        }
        if self.upstreamNeedsFlush {
            self.upstreamNeedsFlush = false
            self.exchange.upstream?.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.exchange.upstream?.resumeReading()
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
                requestMethod: self.exchange.requestMethod,
                clientVersion: self.exchange.requestVersion
            )
            self.run(self.stateMachine.responseHead(head, framedForClient: framed))
        case .body(let buffer):
            self.noteActivity()
            self.run(self.stateMachine.responseBody(buffer))
        case .end(let trailers):
            let keepAlive = self.exchange.upstream?.isReusable ?? false
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
        guard upstream === self.exchange.upstream else { return }
        self.exchange.upstream = nil
        self.run(self.stateMachine.upstreamClosed())
    }

    // MARK: Requests

    /// - Parameter bodyFollows: for an HTTP/2 stream, whether DATA follows the head; nil for
    ///   HTTP/1, whose framing headers say.
    private func receivedHead(_ head: HTTPRequestHead, bodyFollows: Bool?) {
        // A closing connection proxies nothing more: a request routed now would hold capacity
        // that no exchange gives back.
        guard !self.stateMachine.isClosed else { return }
        // One clock read per request, and only for the observer: it serves the timeouts too.
        self.exchange = ProxyExchange(
            version: head.version, method: head.method, startedAt: self.observer != nil ? self.loop.now : nil)
        if bodyFollows != nil, GRPC.isRequest(head.headers) { self.exchange.isGRPC = true }
        let disposition = self.route(head, bodyFollows: bodyFollows ?? false)
        let action = self.stateMachine.requestHead(
            disposition,
            clientKeepAlive: (bodyFollows != nil || head.isKeepAlive) && !self.exchange.closesConnection,
            hasBody: bodyFollows ?? Self.hasBody(head.headers)
        )
        self.run(action)
    }

    private func route(_ head: HTTPRequestHead, bodyFollows: Bool) -> ProxyStateMachine.Disposition {
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
        self.exchange.hostRoute = hostRoute
        guard let service = self.loop.route(for: hostRoute.key) else {
            return .reject(.notFound, "no service for host \"\(host)\"\n")
        }
        let target = service.choose(random: self.loop.nextRandom)
        let startedAt = self.exchange.startedAt
        let settings = target.revision.settings
        self.exchange.timeouts.start(settings, at: startedAt ?? self.loop.now)
        if self.exchange.isGRPC, let deadline = GRPC.timeout(head.headers) {
            self.exchange.timeouts.limitRequest(to: deadline, at: startedAt ?? self.loop.now)
        }
        if let refusal = self.admit(to: target, key: hostRoute.key) {
            let (status, message) = Self.response(to: refusal, key: hostRoute.key)
            return .reject(status, message)
        }
        self.armTimer()
        var options = ProxyHeaders.UpstreamOptions()
        switch settings.upstreamProtocol {
        case .http1:
            options.mayUpgrade = !self.isHTTP2Stream && head.version == .http1_1
            options.chunkUnframedBody = self.isHTTP2Stream && bodyFollows
        case .h2c:
            options.keepTrailersTE = true
        }
        let (upstreamHead, upgrade, upgradeAsked) = ProxyHeaders.upstreamRequestHead(
            from: head, host: host, client: self.client, forwardedElement: self.lastForwardedElement, options: options)
        // An upgrade this hop does not pass on (to an h2c instance) is answered as a plain
        // request, and the connection closes after it: its HTTP/1 framing ended there.
        if upgradeAsked && !upgrade { self.exchange.closesConnection = true }
        let sendContinue =
            head.version.minor >= 1 && head.headers["expect"].contains { $0.equalsIgnoringASCIICase("100-continue") }
        let retryable = head.method == .GET || head.method == .HEAD || head.method == .OPTIONS
        return .forward(upstreamHead, sendContinue: sendContinue, retryable: retryable, upgrade: upgrade)
    }

    /// Takes capacity on an instance of `target`'s revision, or queues the request for one:
    /// the single path from a routing decision to an instance, for a request routed the first
    /// time and for one the activator sent back. Returns why the request cannot wait, if so.
    private func admit(to target: RevisionTarget, key: String) -> Activator.Refusal? {
        self.exchange.assign(to: target.revision)
        let admission = target.revision.activator.admit(
            from: target.slots, seed: self.loop.nextRandom(), key: key,
            waiter: NIOLoopBound(self, eventLoop: self.loop.eventLoop))
        switch admission {
        case .acquired(let slot):
            self.use(slot)
            return nil
        case .queued(let ticket):
            self.exchange.queued(ticket, at: self.loop.now)
            return nil
        case .refused(let refusal):
            return refusal
        }
    }

    /// Takes an instance whose capacity was acquired for this request; thaws it if frozen.
    private func use(_ slot: BackendSlot) {
        var thawStarted = NIODeadline.distantPast
        let thawed = slot.thawIfFrozen {
            thawStarted = self.loop.now
            self.loop.table.thaw?(slot.backend.id)
        }
        self.exchange.hold(slot, thawDuration: thawed ? self.loop.now - thawStarted : nil)
    }

    private static func response(to refusal: Activator.Refusal, key: String) -> (HTTPResponseStatus, String) {
        switch refusal {
        case .queueFull, .removed:
            (.tooManyRequests, "too many requests waiting for service \"\(key)\"\n")
        case .noQueue:
            (.serviceUnavailable, "no ready instance for service \"\(key)\"\n")
        }
    }

    // MARK: Timeouts

    private func armTimer() {
        guard let deadline = self.exchange.timeouts.nextDeadline, let context = self.context else { return }
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
        guard self.exchange.timeouts.isActive else { return }
        if let expired = self.exchange.timeouts.expired(at: self.loop.now) {
            self.logger.debug("request timed out", metadata: ["timeout": "\(expired)"])
            self.exchange.leaveQueue()
            self.run(self.stateMachine.timedOut(expired.message))
            return
        }
        self.armTimer()
    }

    /// Bytes moved: the idle timeout starts again.
    @inline(__always)
    private func noteActivity() {
        if self.exchange.timeouts.tracksIdle { self.exchange.timeouts.lastActivity = self.loop.now }
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
                let head = HTTPResponseHead(version: self.exchange.requestVersion, status: .continue)
                context.writeAndFlush(self.wrapOutboundOut(.head(head)), promise: nil)
            }
            self.acquireUpstream(fresh: fresh)

        case .sendRequest(let head, let body, let end):
            guard let upstream = self.exchange.upstream else { return }
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
            self.exchange.upstream?.write(.body(.byteBuffer(buffer)))
            self.upstreamNeedsFlush = true

        case .forwardRequestEnd(let trailers):
            self.exchange.upstream?.write(.end(trailers))
            self.upstreamNeedsFlush = true

        case .sendLocalResponse(let status, let message, let closeClient):
            self.detachUpstream()?.close()
            self.exchange.responseStatus = Int(status.code)
            self.finishExchange()
            self.writeLocalResponse(status, message, closeClient: closeClient, context: context)

        case .forwardResponseHead(let head, let clientKeepAlive):
            self.exchange.timeouts.responseStarted()
            self.exchange.responseStatus = Int(head.status.code)
            var clientHead = ProxyHeaders.clientResponseHead(
                from: head,
                version: self.exchange.requestVersion,
                keepAlive: clientKeepAlive
            )
            if self.exchange.isGRPC {
                // A trailers-only answer (status in the head) must reach the client as trailers:
                // this side cannot end a stream on its head.
                self.exchange.statusTrailers = GRPC.takeStatus(from: &clientHead.headers)
            }
            context.write(self.wrapOutboundOut(.head(clientHead)), promise: nil)

        case .forwardResponseBody(let buffer):
            context.write(self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)

        case .forwardSwitchingHead(let head):
            self.exchange.timeouts.responseStarted()
            self.exchange.responseStatus = Int(head.status.code)
            let clientHead = ProxyHeaders.switchingHead(from: head, version: self.exchange.requestVersion)
            context.write(self.wrapOutboundOut(.head(clientHead)), promise: nil)

        case .startTunnel:
            self.startTunnel(context: context)

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
            let statusTrailers = self.exchange.statusTrailers
            self.finishExchange()
            self.writeEnd(GRPC.merge(trailers, statusTrailers), closeClient: closeClient, context: context)

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

        case .lingerBeforeClose:
            context.eventLoop.assumeIsolated().scheduleTask(in: Self.shutdownLinger) { [weak self] in
                guard let self else { return }
                self.run(self.stateMachine.lingerEnded())
            }
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
            self.exchange.upstream?.flush()
        }
    }

    private func acquireUpstream(fresh: Bool) {
        if self.exchange.isQueued { return }  // the activator calls back with an instance
        guard let slot = self.exchange.slot else {
            self.run(self.stateMachine.upstreamFailed())
            return
        }
        if slot.revision.settings.upstreamProtocol == .h2c {
            // A new stream on the loop's connection to the instance (opened if need be). On a
            // connection that was already up, a stream the instance refuses (it went away in the
            // meantime) may be retried like a request on a pooled HTTP/1.1 connection.
            let reused = !fresh && self.loop.pool.hasHTTP2Connection(to: slot)
            self.loop.pool.openStream(to: slot, fresh: fresh).assumeIsolated().whenComplete { result in
                self.connectCompleted(result, slot: slot, reused: reused)
            }
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

    private func connectCompleted(_ result: Result<any Channel, any Error>, slot: BackendSlot, reused: Bool = false) {
        switch result {
        case .success(let channel):
            guard let upstream = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                channel.close(promise: nil)
                self.run(self.stateMachine.upstreamFailed())
                return
            }
            let action = self.stateMachine.upstreamReady(reused: reused)
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
            if reused, self.stateMachine.isWaitingForUpstream {
                // No stream could be opened on an HTTP/2 connection that was up: it is closing.
                // Nothing was sent, so any request may go on a new connection, once.
                self.acquireUpstream(fresh: true)
                return
            }
            self.run(self.stateMachine.upstreamFailed())
        }
    }

    /// Answers an `Upgrade: h2c` request with 101 and turns the connection into an HTTP/2 one,
    /// on which the request becomes stream 1. False if the request cannot be carried over
    /// (then it is served over HTTP/1.1, as the RFC allows).
    private func upgradeToHTTP2(_ head: HTTPRequestHead) -> Bool {
        guard let context = self.context,
            let request = HTTP2Server.headersFrame(for: head, allocator: context.channel.allocator)
        else { return false }
        var headers = HTTPHeaders()
        headers.add(name: "connection", value: "upgrade")
        headers.add(name: "upgrade", value: "h2c")
        context.writeAndFlush(
            self.wrapOutboundOut(
                .head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))),
            promise: nil)
        do {
            // HTTP/1 leaves first: the HTTP/2 handler writes its SETTINGS as soon as it is added.
            let pipeline = context.pipeline.syncOperations
            _ = pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self))
            _ = pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
            _ = pipeline.removeHandler(self)
            try pipeline.addHandler(H2CUpgradeInjector(request: request))
            try HTTP2Server.configure(
                pipeline, eventLoop: context.eventLoop, loop: self.loop, domain: self.domain, observer: self.observer,
                logger: self.logger)
        } catch {
            self.logger.debug("cannot switch to h2c", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
        return true
    }

    /// The instance switched protocols: from here on, the two connections' bytes are spliced.
    /// The exchange stays open (its capacity held, its timeouts running) until either side
    /// closes.
    private func startTunnel(context: ChannelHandlerContext) {
        guard let upstream = self.exchange.upstream else {
            self.run(self.stateMachine.upstreamClosed())
            return
        }
        let ends = TunnelHandler.pair { [weak self] in self?.noteActivity() }
        do {
            let pipeline = context.pipeline.syncOperations
            try pipeline.addHandler(ends.client, position: .before(self))
            _ = pipeline.removeHandler(try pipeline.handler(type: HTTPResponseEncoder.self))
            _ = pipeline.removeHandler(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self))
            try upstream.spliceTunnel(ends.upstream)
        } catch {
            self.logger.debug("cannot switch protocols", metadata: ["error": "\(error)"])
            self.run(self.stateMachine.upstreamClosed())
            return
        }
        context.flush()
        upstream.resumeReading()
    }

    private func attach(_ upstream: UpstreamHandler) {
        upstream.attach(to: self)
        self.exchange.upstream = upstream
    }

    private func detachUpstream() -> UpstreamHandler? {
        guard let upstream = self.exchange.upstream else { return nil }
        self.exchange.upstream = nil
        upstream.proxy = nil
        return upstream
    }

    /// Ends the exchange's accounting: the backend's in-flight count and the observer.
    private func finishExchange() {
        let record = self.exchange.finish(at: self.loop.now)
        if let observer = self.observer, let record {
            observer(record)
        }
    }

    // MARK: Writing to the client

    private func writeLocalResponse(
        _ status: HTTPResponseStatus,
        _ message: String,
        closeClient: Bool,
        context: ChannelHandlerContext
    ) {
        if self.exchange.isGRPC {
            // A gRPC client reads the outcome from grpc-status, not the HTTP status.
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/grpc")
            let head = HTTPResponseHead(version: self.exchange.requestVersion, status: .ok, headers: headers)
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            self.writeEnd(GRPC.statusTrailers(for: status, message), closeClient: closeClient, context: context)
            return
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(message.utf8.count))
        if status == .tooManyRequests || status == .serviceUnavailable {
            headers.add(name: "retry-after", value: "1")
        }
        if closeClient {
            headers.add(name: "connection", value: "close")
        } else if self.exchange.requestVersion.major == 1 && self.exchange.requestVersion.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: self.exchange.requestVersion, status: status, headers: headers)
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        if self.exchange.requestMethod != .HEAD {
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
        if let upstream = self.exchange.upstream, !upstream.isWritable { return false }
        return true
    }

    private func resumeClientReading() {
        guard self.clientReadPending, self.mayReadFromClient, let context = self.context else { return }
        self.clientReadPending = false
        context.read()
    }
}

// MARK: - Activator hand-offs

extension ProxyHandler: ActivatorWaiter {
    func activator(_ activator: Activator, handedOver slot: BackendSlot?, for ticket: ActivatorTicket) -> Bool {
        // The request may have ended (timeout, client gone) while the instance was on its way.
        guard self.exchange.isWaiting(for: ticket, from: activator), self.stateMachine.isWaitingForUpstream else {
            return false
        }
        self.exchange.handedOver(at: self.loop.now)
        if let slot {
            self.use(slot)
            self.acquireUpstream(fresh: false)
            return true
        }
        // Its route moved (a traffic change, the revision left the table): route it again by
        // whatever serves its key now. The deadlines keep running from its arrival.
        guard let key = self.exchange.hostRoute?.key, let service = self.loop.route(for: key) else {
            self.run(self.stateMachine.upstreamFailed(status: .serviceUnavailable, "service is gone\n"))
            return true
        }
        if let refusal = self.admit(to: service.choose(random: self.loop.nextRandom), key: key) {
            let (status, message) = Self.response(to: refusal, key: key)
            self.run(self.stateMachine.upstreamFailed(status: status, message))
        } else {
            self.acquireUpstream(fresh: false)
        }
        return true
    }
}
