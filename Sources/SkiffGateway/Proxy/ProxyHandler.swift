import Logging
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import SkiffBalancing
import SkiffHTTP1

/// The client-side end of the proxy: routes each request, drives ``ProxyStateMachine`` and
/// carries out its actions on the client and upstream channels.
///
/// On an HTTP/1.x connection it is the only handler: it parses the client's bytes with the
/// gateway's own parser (``HTTP1Parser``) and writes responses as bytes, the head copied from
/// the instance's minus its hop-by-hop fields (``ProxyHeaders``). On an HTTP/2 stream it reads
/// and writes the stream's frames (HEADERS, DATA) instead; either way the exchange is carried
/// as the gateway's HTTP/1 types.
///
/// Both channels live on the same event loop, so handing data across is a method call.
/// A pipelined request (bytes of the next request while the previous exchange runs) stays
/// unparsed in the read buffer, with client reads paused, until the exchange is over; in the
/// common case reads are never paused, so a keep-alive request costs no epoll re-registration.
/// Backpressure: reads from the client are held while the upstream is not writable (or not
/// connected yet); ``UpstreamHandler`` holds backend reads while the client is not writable.
/// Writes are flushed once per read burst, not per part.
final class ProxyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What an HTTP/2 stream's request carries beyond its head.
    struct StreamRequest {
        /// DATA frames follow the HEADERS.
        var bodyFollows: Bool
        var isGRPC: Bool
        var grpcTimeout: TimeAmount?
    }

    private let loop: LoopContext
    /// Serves one HTTP/2 stream (one request) rather than an HTTP/1.x connection.
    private let isHTTP2Stream: Bool
    /// An HTTP/2 stream's request head has arrived: a HEADERS frame after it is its trailers.
    private var streamHeadSeen = false
    /// An HTTP/1.1 request asking for h2c, held until its end switches the connection.
    private var heldUpgradeHead: HTTP1Head?

    /// HTTP/1.x: the requests' parser and the bytes read but not parsed yet.
    private var parser = HTTP1Parser(kind: .request)
    private var inbound: ByteBuffer?
    /// The next request (or, after an upgrade request, the new protocol's bytes) waits in
    /// `inbound` for the running exchange to end; reads stop meanwhile.
    private var holdsNextRequest = false
    private var isParsing = false
    private let domain: String
    private let observer: GatewayObserver?
    private let logger: Logger
    private var stateMachine = ProxyStateMachine()
    private var context: ChannelHandlerContext?
    /// Shared by the streams of an HTTP/2 connection; this handler's own on HTTP/1.
    private let connection: ClientConnection

    /// The running exchange, or the last one until the next request head.
    private var exchange = ProxyExchange()
    /// How long an idle connection stays open at graceful shutdown for a request the
    /// client may have sent already (see ``ProxyStateMachine/quiesce()``).
    static let shutdownLinger: TimeAmount = .milliseconds(250)
    /// One timer per connection, re-armed lazily: most requests finish long before it fires.
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline = .distantFuture

    private var clientReadPending = false
    private var upstreamNeedsFlush = false
    /// An HTTP/1 response head held back until its body, so that a small response leaves in
    /// one buffer and one `write(2)` rather than a `writev(2)` of two (``writeResponseHead``).
    private var heldHead: ByteBuffer?

    /// - Parameter http2Connection: for the handler of an HTTP/2 stream, what the streams of
    ///   its connection share; nil on an HTTP/1.x connection.
    init(
        loop: LoopContext, domain: String, observer: GatewayObserver?, logger: Logger,
        http2Connection: ClientConnection? = nil
    ) {
        self.loop = loop
        self.isHTTP2Stream = http2Connection != nil
        self.connection = http2Connection ?? ClientConnection()
        self.domain = domain
        self.observer = observer
        self.logger = logger
    }

    /// Installs a proxy handler on an HTTP/1.x client connection: the only handler it needs.
    static func configure(
        _ pipeline: ChannelPipeline.SynchronousOperations,
        loop: LoopContext,
        domain: String,
        observer: GatewayObserver?,
        logger: Logger
    ) throws {
        try pipeline.addHandler(ProxyHandler(loop: loop, domain: domain, observer: observer, logger: logger))
    }

    /// Installs a proxy handler on one HTTP/2 stream, reading and writing its frames: each
    /// stream is a request, routed, queued and counted like one on an HTTP/1.1 connection.
    static func configureStream(
        _ pipeline: ChannelPipeline.SynchronousOperations,
        connection: ClientConnection,
        loop: LoopContext,
        domain: String,
        observer: GatewayObserver?,
        logger: Logger
    ) throws {
        try pipeline.addHandler(
            ProxyHandler(loop: loop, domain: domain, observer: observer, logger: logger, http2Connection: connection))
    }

    var isClientWritable: Bool {
        self.context?.channel.isWritable ?? false
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.connection.noteAddress(of: context.channel)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.exchange.leaveQueue()
        self.timer?.cancel()
        self.timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.connection.noteAddress(of: context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.isHTTP2Stream {
            self.process(StreamFrames.reader.unwrapInboundIn(data))
            return
        }
        self.inbound = self.inbound.take(appending: self.unwrapInboundIn(data))
        self.parseInbound()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            self.run(self.stateMachine.quiesce())
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Parses the bytes read so far into requests, up to the next request that must wait for
    /// the running exchange.
    private func parseInbound() {
        guard !self.isParsing else { return }
        self.isParsing = true
        defer { self.isParsing = false }
        self.holdsNextRequest = false
        // Until the parser needs more bytes: the end of a message without a body comes with
        // no bytes of its own.
        while self.context != nil, !self.stateMachine.isClosed {
            var bytes = self.inbound ?? Self.noBytes
            self.inbound = nil
            if bytes.readableBytes > 0, self.parser.isBetweenMessages || self.parser.isUpgraded,
                !self.stateMachine.isIdle
            {
                self.inbound = bytes
                self.holdsNextRequest = true
                return
            }
            let event: HTTP1Event?
            do {
                event = try self.parser.next(from: &bytes)
            } catch {
                self.logger.debug("malformed request", metadata: ["error": "\(error)"])
                self.run(self.stateMachine.clientProtocolError())
                return
            }
            if bytes.readableBytes > 0 { self.inbound = bytes }
            guard let event else { return }
            switch event {
            case .head(let head):
                if self.stateMachine.isIdle, HTTP2Server.isUpgradeRequest(head) {
                    self.heldUpgradeHead = head
                } else {
                    self.receivedHead(head, stream: nil)
                }
            case .body(let buffer):
                self.noteActivity()
                self.run(self.stateMachine.requestBody(buffer))
            case .end(let trailers):
                if let head = self.heldUpgradeHead {
                    self.heldUpgradeHead = nil
                    if self.upgradeToHTTP2(head) { return }
                    self.receivedHead(head, stream: nil)
                }
                self.run(self.stateMachine.requestEnd(trailers))
            }
        }
    }

    /// A frame of an HTTP/2 stream's request.
    private func process(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let frame):
            if self.streamHeadSeen {
                self.run(self.stateMachine.requestEnd(HTTP1Headers(frame.headers)))
                return
            }
            self.streamHeadSeen = true
            self.receivedStreamHead(frame.headers, endStream: frame.endStream)
            if frame.endStream { self.run(self.stateMachine.requestEnd(nil)) }
        case .data(let frame):
            if case .byteBuffer(let buffer) = frame.data, buffer.readableBytes > 0 {
                self.noteActivity()
                self.run(self.stateMachine.requestBody(buffer))
            }
            if frame.endStream { self.run(self.stateMachine.requestEnd(nil)) }
        default:
            // Flow control, priorities and resets are the HTTP/2 handler's: a reset closes this
            // stream's channel.
            break
        }
    }

    private func receivedStreamHead(_ headers: HPACKHeaders, endStream: Bool) {
        let request: HTTP1Head
        switch HTTP1Head.stream(headers, bodyFollows: !endStream) {
        case .success(let head):
            request = head
        case .failure(let refusal):
            self.exchange = ProxyExchange()
            self.run(
                self.stateMachine.requestHead(
                    .reject(refusal.status, refusal.message), clientKeepAlive: true, hasBody: !endStream))
            return
        }
        let isGRPC = GRPC.isRequest(headers)
        let stream = StreamRequest(
            bodyFollows: !endStream, isGRPC: isGRPC, grpcTimeout: isGRPC ? GRPC.timeout(headers) : nil)
        self.receivedHead(request, stream: stream)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
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

    func upstreamRead(_ part: UpstreamHandler.Part) {
        switch part {
        case .head(let head):
            if !self.isHTTP2Stream {
                // Decided once: it says whether the client connection can stay open, and how
                // the head and body are written.
                self.exchange.clientFraming = ProxyHeaders.clientFraming(
                    head, requestMethod: self.exchange.requestMethod, clientVersion: self.exchange.requestVersion)
            }
            let framed = self.exchange.clientFraming != .untilClose
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
        guard let context = self.context else { return }
        // The rest of the body comes in a later read: what there is goes now.
        self.writeHeldHead(context)
        context.flush()
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

    /// - Parameter stream: what an HTTP/2 stream's request carries beyond its head; nil for
    ///   HTTP/1, whose framing the head says.
    private func receivedHead(_ head: HTTP1Head, stream: StreamRequest?) {
        // A closing connection proxies nothing more: a request routed now would hold capacity
        // that no exchange gives back.
        guard !self.stateMachine.isClosed else { return }
        // One clock read per request, and only for the observer: it serves the timeouts too.
        self.exchange = ProxyExchange(
            version: head.version, method: head.method, startedAt: self.observer != nil ? self.loop.now : nil)
        if stream?.isGRPC == true { self.exchange.isGRPC = true }
        // The parser reads nothing after an upgrade request (or CONNECT): whatever the answer,
        // unless the connection becomes a tunnel, it closes after it.
        if stream == nil, head.isUpgrade { self.exchange.closesConnection = true }
        let disposition = self.route(head, stream: stream)
        let action = self.stateMachine.requestHead(
            disposition,
            clientKeepAlive: (stream != nil || head.keepAlive) && !self.exchange.closesConnection,
            hasBody: stream?.bodyFollows ?? (head.framing != .none)
        )
        self.run(action)
    }

    private func route(_ head: HTTP1Head, stream: StreamRequest?) -> ProxyStateMachine.Disposition {
        guard let hostBytes = head.headers.firstValueBytes(name: "host"), !hostBytes.isEmpty else {
            return .reject(.badRequest, "missing Host header\n")
        }
        let host: String
        let hostRoute: HostRoute
        let connection = self.connection
        if let lastHost = connection.lastHost, let cached = connection.lastHostRoute,
            hostBytes.elementsEqual(lastHost.utf8)
        {
            host = lastHost
            hostRoute = cached
        } else {
            host = String(decoding: hostBytes, as: UTF8.self)
            guard let parsed = HostRoute(host: host, domain: self.domain) else {
                return .reject(.notFound, "no service for host \"\(host)\"\n")
            }
            connection.lastHost = host
            connection.lastHostRoute = parsed
            connection.lastForwardedElement = ProxyHeaders.forwardedElement(host: host, client: connection.address)
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
        if let deadline = stream?.grpcTimeout {
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
            options.mayUpgrade = stream == nil && head.version == .http1_1
            options.chunkUnframedBody = stream?.bodyFollows ?? false
        case .h2c:
            options.keepTrailersTE = true
        }
        let rewrite = ProxyHeaders.upstreamRequest(
            from: head, host: host, client: connection.address, forwardedElement: connection.lastForwardedElement,
            options: options)
        // An upgrade this hop does not pass on (to an h2c instance) is answered as a plain
        // request, and the connection closes after it: its HTTP/1 framing ended there.
        if rewrite.upgradeAsked && !rewrite.upgrade { self.exchange.closesConnection = true }
        let sendContinue = stream == nil && head.version == .http1_1 && rewrite.expectsContinue
        let retryable = head.method == .get || head.method == .head || head.method == .options
        return .forward(rewrite.request, sendContinue: sendContinue, retryable: retryable, upgrade: rewrite.upgrade)
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

    // MARK: Actions

    private func run(_ action: ProxyStateMachine.Action) {
        guard let context = self.context else { return }
        switch action {
        case .none:
            break

        case .acquireUpstream(let fresh, let sendContinue):
            if sendContinue {
                context.writeAndFlush(self.wrapOutboundOut(Self.continueHead), promise: nil)
            }
            self.acquireUpstream(fresh: fresh)

        case .sendRequest(let request, let body, let end):
            guard let upstream = self.exchange.upstream else { return }
            upstream.write(request)
            for part in body {
                upstream.writeBody(part)
            }
            if let end {
                upstream.writeEnd(end.trailers)
            }
            upstream.flush()
            self.upstreamNeedsFlush = false
            self.resumeClientReading()

        case .forwardRequestBody(let buffer):
            self.exchange.upstream?.writeBody(buffer)
            self.upstreamNeedsFlush = true

        case .forwardRequestEnd(let trailers):
            self.exchange.upstream?.writeEnd(trailers)
            self.upstreamNeedsFlush = true

        case .sendLocalResponse(let status, let message, let closeClient):
            self.detachUpstream()?.close()
            self.exchange.responseStatus = Int(status.code)
            self.finishExchange()
            self.writeLocalResponse(status, message, closeClient: closeClient, context: context)

        case .forwardResponseHead(let head, let clientKeepAlive):
            self.exchange.timeouts.responseStarted()
            self.exchange.responseStatus = head.status
            self.writeResponseHead(head, keepAlive: clientKeepAlive, context: context)

        case .forwardResponseBody(let buffer):
            self.writeResponseBody(buffer, context: context)

        case .forwardSwitchingHead(let head):
            self.exchange.timeouts.responseStarted()
            self.exchange.responseStatus = head.status
            var buffer = context.channel.allocator.buffer(capacity: head.headers.estimatedSize + 96)
            ProxyHeaders.writeSwitchingHead(head, into: &buffer)
            context.write(self.wrapOutboundOut(buffer), promise: nil)

        case .startTunnel:
            self.startTunnel(context: context)

        case .finishResponse(let trailers, let disposition, let client):
            let closeClient = client == .close
            // Let go of the exchange before writing the end: its capacity is free for the
            // next request as soon as the client can see the answer.
            if let upstream = self.detachUpstream() {
                if disposition == .pool {
                    self.loop.pool.put(upstream)
                } else {
                    upstream.close()
                }
            }
            let exchange = self.exchange
            self.finishExchange()
            // On an HTTP/2 stream an answer complete before the request's body ends the stream
            // (RFC 9113 §8.1): RST_STREAM with NO_ERROR asks the client to stop sending a body
            // nobody reads.
            let stopsRequest = self.isHTTP2Stream && !closeClient && !self.stateMachine.isIdle
            self.writeResponseEnd(
                trailers, of: exchange, closeClient: closeClient, stopRequest: stopsRequest, context: context)
            if client == .lingerThenClose {
                self.lingerBeforeClose(context)
            }

        case .retry:
            self.detachUpstream()?.close()
            self.acquireUpstream(fresh: true)

        case .abort:
            self.heldHead = nil
            self.detachUpstream()?.close()
            self.finishExchange()
            context.close(promise: nil)

        case .releaseUnusedUpstream:
            break

        case .closeClient:
            context.close(promise: nil)

        case .lingerBeforeClose:
            self.lingerBeforeClose(context)
        }
        if self.holdsNextRequest, self.stateMachine.isIdle {
            self.parseInbound()
            if self.upstreamNeedsFlush {
                self.upstreamNeedsFlush = false
                self.exchange.upstream?.flush()
            }
        }
        // Reads held while connecting must resume however the wait ended.
        if self.clientReadPending {
            self.resumeClientReading()
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
    private func upgradeToHTTP2(_ head: HTTP1Head) -> Bool {
        guard let context = self.context,
            let request = HTTP2Server.headersFrame(for: head.nioRequestHead, allocator: context.channel.allocator)
        else { return false }
        context.writeAndFlush(self.wrapOutboundOut(Self.switchingToH2C), promise: nil)
        // The client's preface may have come with the request.
        let early = self.inbound
        self.inbound = nil
        let pipeline = context.pipeline
        do {
            // HTTP/1 leaves first: the HTTP/2 handler writes its SETTINGS as soon as it is added.
            let operations = pipeline.syncOperations
            _ = operations.removeHandler(self)
            try operations.addHandler(H2CUpgradeInjector(request: request))
            try HTTP2Server.configure(
                operations, eventLoop: context.eventLoop, loop: self.loop, domain: self.domain,
                observer: self.observer, logger: self.logger)
        } catch {
            self.logger.debug("cannot switch to h2c", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return true
        }
        if let early {
            pipeline.syncOperations.fireChannelRead(NIOAny(early))
            pipeline.syncOperations.fireChannelReadComplete()
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
            try context.pipeline.syncOperations.addHandler(ends.client, position: .before(self))
            try upstream.spliceTunnel(ends.upstream)
        } catch {
            self.logger.debug("cannot switch protocols", metadata: ["error": "\(error)"])
            self.run(self.stateMachine.upstreamClosed())
            return
        }
        context.flush()
        // Bytes the client sent behind its request, before the switch, are the new protocol's.
        if let early = self.inbound {
            self.inbound = nil
            ends.client.forwardToPartner(early)
        }
        self.holdsNextRequest = false
        upstream.resumeReading()
        self.resumeClientReading()
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

    private static let continueHead = ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")
    private static let switchingToH2C = ByteBuffer(
        string: "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: h2c\r\n\r\n")
    private static let noBytes = ByteBuffer()

    private func writeResponseHead(_ head: HTTP1Head, keepAlive: Bool, context: ChannelHandlerContext) {
        guard !self.isHTTP2Stream else {
            var block = ProxyHeaders.streamResponseHeaders(head)
            if self.exchange.isGRPC {
                // A trailers-only answer (status in the head) must reach the client as trailers:
                // the head was taken as one that a body may follow.
                self.exchange.statusTrailers = GRPC.takeStatus(from: &block)
            }
            context.write(NIOAny(HTTP2Frame.FramePayload.headers(.init(headers: block))), promise: nil)
            return
        }
        // A small body of known length is copied behind the head: one buffer for the kernel.
        var bodyRoom = 0
        if self.exchange.clientFraming == .asIs, case .contentLength(let length) = head.framing,
            length <= Self.coalescedBodyLimit
        {
            bodyRoom = Int(length)
        }
        var buffer = context.channel.allocator.buffer(capacity: head.headers.estimatedSize + 96 + bodyRoom)
        ProxyHeaders.writeClientResponseHead(
            head, version: self.exchange.requestVersion, keepAlive: keepAlive, framing: self.exchange.clientFraming,
            into: &buffer)
        if bodyRoom > 0 {
            self.heldHead = buffer
        } else {
            context.write(self.wrapOutboundOut(buffer), promise: nil)
        }
    }

    /// The largest body copied behind its head: a copy this small costs less than a second
    /// buffer on the write path.
    static let coalescedBodyLimit: UInt64 = 8192

    /// Writes the held head (and what was copied behind it), if any.
    private func writeHeldHead(_ context: ChannelHandlerContext) {
        guard let held = self.heldHead else { return }
        self.heldHead = nil
        context.write(self.wrapOutboundOut(held), promise: nil)
    }

    private func writeResponseBody(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        if var held = self.heldHead {
            self.heldHead = nil  // the buffer's only reference: written to in place
            // The room was reserved for the whole body, so its parts fit unless it lied.
            if held.writableBytes >= buffer.readableBytes {
                held.writeImmutableBuffer(buffer)
                self.heldHead = held
                return
            }
            context.write(self.wrapOutboundOut(held), promise: nil)
        }
        if self.isHTTP2Stream {
            context.write(NIOAny(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(buffer)))), promise: nil)
        } else if self.exchange.clientFraming == .chunked {
            context.writeHTTP1Chunk(buffer)
        } else {
            context.write(self.wrapOutboundOut(buffer), promise: nil)
        }
    }

    private func lingerBeforeClose(_ context: ChannelHandlerContext) {
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.shutdownLinger) { [weak self] in
            guard let self else { return }
            self.run(self.stateMachine.lingerEnded())
        }
    }

    /// Ends the response of `exchange` (already settled), then closes the client if asked, or
    /// on an HTTP/2 stream resets it with NO_ERROR if `stopRequest`.
    private func writeResponseEnd(
        _ trailers: HTTP1Headers?, of exchange: ProxyExchange, closeClient: Bool, stopRequest: Bool = false,
        context: ChannelHandlerContext
    ) {
        let end: NIOAny
        if self.isHTTP2Stream {
            let merged = GRPC.merge(trailers.map(ProxyHeaders.streamTrailers), exchange.statusTrailers)
            end = NIOAny(Self.streamEnd(merged, allocator: context.channel.allocator))
        } else if exchange.clientFraming == .chunked {
            end = self.wrapOutboundOut(context.lastHTTP1Chunk(trailers))
        } else if let held = self.heldHead {
            self.heldHead = nil
            end = self.wrapOutboundOut(held)
        } else if closeClient {
            end = self.wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))
        } else {
            context.flush()
            return
        }
        if closeClient {
            context.writeAndFlush(end).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else if stopRequest {
            // After the end is out: a reset written before it could overtake it.
            context.writeAndFlush(end).assumeIsolated().whenSuccess {
                context.writeAndFlush(NIOAny(HTTP2Frame.FramePayload.rstStream(.noError)), promise: nil)
            }
        } else {
            context.writeAndFlush(end, promise: nil)
        }
    }

    private func writeLocalResponse(
        _ status: HTTPResponseStatus,
        _ message: String,
        closeClient: Bool,
        context: ChannelHandlerContext
    ) {
        guard !self.isHTTP2Stream else {
            self.writeLocalStreamResponse(status, message, closeClient: closeClient, context: context)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 192 + message.utf8.count)
        buffer.writeStaticString(self.exchange.requestVersion == .http1_1 ? "HTTP/1.1 " : "HTTP/1.0 ")
        buffer.writeString(String(status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ")
        buffer.writeString(String(message.utf8.count))
        buffer.writeStaticString("\r\n")
        if status == .tooManyRequests || status == .serviceUnavailable {
            buffer.writeStaticString("retry-after: 1\r\n")
        }
        if closeClient {
            buffer.writeStaticString("connection: close\r\n")
        } else if self.exchange.requestVersion == .http1_0 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        buffer.writeStaticString("\r\n")
        if self.exchange.requestMethod != .head {
            buffer.writeString(message)
        }
        if closeClient {
            context.writeAndFlush(self.wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else {
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        }
    }

    private func writeLocalStreamResponse(
        _ status: HTTPResponseStatus,
        _ message: String,
        closeClient: Bool,
        context: ChannelHandlerContext
    ) {
        var block = HPACKHeaders()
        let trailers: HPACKHeaders?
        if self.exchange.isGRPC {
            // A gRPC client reads the outcome from grpc-status, not the HTTP status.
            block.add(name: ":status", value: "200")
            block.add(name: "content-type", value: "application/grpc")
            context.write(NIOAny(HTTP2Frame.FramePayload.headers(.init(headers: block))), promise: nil)
            trailers = GRPC.statusTrailers(for: status, message)
        } else {
            block.add(name: ":status", value: String(status.code))
            block.add(name: "content-type", value: "text/plain; charset=utf-8")
            block.add(name: "content-length", value: String(message.utf8.count))
            if status == .tooManyRequests || status == .serviceUnavailable {
                block.add(name: "retry-after", value: "1")
            }
            context.write(NIOAny(HTTP2Frame.FramePayload.headers(.init(headers: block))), promise: nil)
            if self.exchange.requestMethod != .head {
                let body = context.channel.allocator.buffer(string: message)
                context.write(NIOAny(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(body)))), promise: nil)
            }
            trailers = nil
        }
        let end = NIOAny(Self.streamEnd(trailers, allocator: context.channel.allocator))
        if closeClient {
            // The stream closes (reset, if the client still sends a body it has no use for).
            context.writeAndFlush(end).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(end, promise: nil)
        }
    }

    /// The frame that ends a response on an HTTP/2 stream: its trailers, or an empty DATA.
    private static func streamEnd(_ trailers: HPACKHeaders?, allocator: ByteBufferAllocator) -> HTTP2Frame.FramePayload
    {
        if let trailers {
            return .headers(.init(headers: trailers, endStream: true))
        }
        return .data(.init(data: .byteBuffer(allocator.buffer(capacity: 0)), endStream: true))
    }

    // MARK: Backpressure

    private var mayReadFromClient: Bool {
        if self.stateMachine.isWaitingForUpstream || self.holdsNextRequest { return false }
        if let upstream = self.exchange.upstream, !upstream.isWritable { return false }
        return true
    }

    private func resumeClientReading() {
        guard self.clientReadPending, self.mayReadFromClient, let context = self.context else { return }
        self.clientReadPending = false
        context.read()
        if self.isHTTP2Stream {
            // The DATA this read delivers earns the client a WINDOW_UPDATE, which the HTTP/2
            // handler sends at its connection's next read or flush. Resumed from the instance's
            // side, no connection read may come: a client whose window is spent waits for that
            // update, and would wait for ever.
            context.flush()
        }
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
