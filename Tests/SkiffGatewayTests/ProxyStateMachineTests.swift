import NIOCore
import NIOHTTP1
import SkiffHTTP1
import Testing

@testable import SkiffGateway

@Suite("ProxyStateMachine")
struct ProxyStateMachineTests {
    typealias Machine = ProxyStateMachine

    static let upstreamHead = UpstreamRequest(
        head: HTTP1Head(method: .get, target: "/", headers: HTTP1Headers(), framing: .none),
        added: .init(xForwardedFor: "127.0.0.1", xForwardedHost: "hello.localhost", forwarded: "for=127.0.0.1"))
    static let okHead = HTTP1Head(status: 200, reason: "OK", headers: HTTP1Headers(), framing: .none)
    static let forward = Machine.Disposition.forward(upstreamHead, sendContinue: false, retryable: true)
    static let forwardPOST = Machine.Disposition.forward(upstreamHead, sendContinue: false, retryable: false)

    /// Drives a complete GET exchange and returns the machine ready for the next one.
    private func completedExchange(_ machine: inout Machine) {
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        _ = machine.responseHead(Self.okHead, framedForClient: true)
        _ = machine.responseEnd(nil, upstreamKeepAlive: true)
    }

    @Test func malformedRequestGets400UnlessTheResponseStarted() {
        var idle = Machine()
        guard case .sendLocalResponse(.badRequest, _, closeClient: true) = idle.clientProtocolError() else {
            Issue.record("an idle connection answers 400 and closes")
            return
        }
        #expect(idle.isClosed)

        var midResponse = Machine()
        _ = midResponse.requestHead(Self.forwardPOST, clientKeepAlive: true, hasBody: true)
        _ = midResponse.upstreamReady(reused: false)
        _ = midResponse.responseHead(Self.okHead, framedForClient: true)
        guard case .abort = midResponse.clientProtocolError() else {
            Issue.record("a started response can only be cut off")
            return
        }
        guard case .none = midResponse.clientProtocolError() else {
            Issue.record("closed ignores more")
            return
        }
    }

    @Test func forwardsAGetAndPoolsTheUpstream() {
        var machine = Machine()
        #expect(machine.isIdle)
        guard
            case .acquireUpstream(fresh: false, sendContinue: false) =
                machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        else {
            Issue.record("expected acquireUpstream")
            return
        }
        #expect(machine.isWaitingForUpstream)
        guard case .none = machine.requestEnd(nil) else {
            Issue.record("end is buffered while connecting")
            return
        }
        guard case .sendRequest(let head, let body, let end) = machine.upstreamReady(reused: false) else {
            Issue.record("expected sendRequest")
            return
        }
        #expect(head.head.target == "/")
        #expect(body.isEmpty)
        #expect(end != nil)
        #expect(!machine.isWaitingForUpstream)
        guard
            case .forwardResponseHead(_, clientKeepAlive: true) = machine.responseHead(
                Self.okHead, framedForClient: true)
        else {
            Issue.record("expected forwardResponseHead")
            return
        }
        guard case .forwardResponseBody(let part) = machine.responseBody(ByteBuffer(string: "hi")) else {
            Issue.record("expected forwardResponseBody")
            return
        }
        #expect(part.readableBytes == 2)
        guard
            case .finishResponse(nil, upstream: .pool, client: .keepOpen) =
                machine.responseEnd(nil, upstreamKeepAlive: true)
        else {
            Issue.record("expected finishResponse")
            return
        }
        #expect(machine.isIdle)
    }

    @Test func buffersBodyPartsWhileConnecting() {
        var machine = Machine()
        _ = machine.requestHead(Self.forwardPOST, clientKeepAlive: true, hasBody: true)
        _ = machine.requestBody(ByteBuffer(string: "a"))
        _ = machine.requestBody(ByteBuffer(string: "bc"))
        guard case .sendRequest(_, let body, let end) = machine.upstreamReady(reused: false) else {
            Issue.record("expected sendRequest")
            return
        }
        #expect(body.map(\.readableBytes) == [1, 2])
        #expect(end == nil)
        guard case .forwardRequestBody(let more) = machine.requestBody(ByteBuffer(string: "d")) else {
            Issue.record("expected forwardRequestBody")
            return
        }
        #expect(more.readableBytes == 1)
        var trailers = HTTP1Headers()
        trailers.append(name: "x-sum", value: "1")
        guard case .forwardRequestEnd(let forwarded) = machine.requestEnd(trailers) else {
            Issue.record("expected forwardRequestEnd")
            return
        }
        #expect(forwarded?.first(name: "x-sum") == "1")
    }

    @Test func answersContinueWhenAsked() {
        var machine = Machine()
        let disposition = Machine.Disposition.forward(Self.upstreamHead, sendContinue: true, retryable: false)
        guard
            case .acquireUpstream(fresh: false, sendContinue: true) =
                machine.requestHead(disposition, clientKeepAlive: true, hasBody: true)
        else {
            Issue.record("expected acquireUpstream with continue")
            return
        }
    }

    @Test(arguments: [
        (true, false, false),  // keep-alive, no body: answer and stay open
        (false, false, true),  // client asked to close
        (true, true, true),  // a body may or may not follow: close
    ])
    func rejectsLocally(clientKeepAlive: Bool, hasBody: Bool, closes: Bool) {
        var machine = Machine()
        guard
            case .sendLocalResponse(.notFound, "nope", closeClient: let close) =
                machine.requestHead(.reject(.notFound, "nope"), clientKeepAlive: clientKeepAlive, hasBody: hasBody)
        else {
            Issue.record("expected local response")
            return
        }
        #expect(close == closes)
        let afterEnd = machine.requestEnd(nil)
        if closes {
            guard case .none = afterEnd else {
                Issue.record("closed machine must ignore input")
                return
            }
            #expect(!machine.isIdle)
        } else {
            #expect(machine.isIdle)
        }
    }

    @Test(arguments: [
        (true, true, false),  // request complete, keep-alive: 502 and stay open
        (false, true, true),  // request body still coming: 502 and close
        (true, false, true),  // client asked to close
    ])
    func connectFailureAnswers502(requestEnded: Bool, clientKeepAlive: Bool, closes: Bool) {
        var machine = Machine()
        _ = machine.requestHead(Self.forwardPOST, clientKeepAlive: clientKeepAlive, hasBody: !requestEnded)
        if requestEnded { _ = machine.requestEnd(nil) }
        guard case .sendLocalResponse(.badGateway, _, closeClient: let close) = machine.upstreamFailed() else {
            Issue.record("expected 502")
            return
        }
        #expect(close == closes)
        #expect(machine.isIdle == !closes)
    }

    @Test func upstreamClosingBeforeResponseAnswers502() {
        var machine = Machine()
        _ = machine.requestHead(Self.forwardPOST, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: true)
        guard case .sendLocalResponse(.badGateway, _, closeClient: false) = machine.upstreamClosed() else {
            Issue.record("expected 502")
            return
        }
        #expect(machine.isIdle)
    }

    @Test func upstreamClosingAfterResponseStartAborts() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        _ = machine.responseHead(Self.okHead, framedForClient: true)
        guard case .abort = machine.upstreamClosed() else {
            Issue.record("expected abort")
            return
        }
        guard case .none = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false) else {
            Issue.record("a closed connection takes no new requests")
            return
        }
    }

    @Test func retriesIdempotentRequestOnceWhenPooledConnectionDied() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: true)
        guard case .retry = machine.upstreamClosed() else {
            Issue.record("expected retry")
            return
        }
        #expect(machine.isWaitingForUpstream)
        guard case .sendRequest(_, let body, let end) = machine.upstreamReady(reused: false) else {
            Issue.record("expected resend")
            return
        }
        #expect(body.isEmpty)
        #expect(end != nil)
        guard case .sendLocalResponse(.badGateway, _, _) = machine.upstreamClosed() else {
            Issue.record("a second failure is not retried")
            return
        }
    }

    @Test(arguments: [
        (false, true),  // fresh connection: nothing stale to blame
        (true, false),  // not retryable (body or method)
    ])
    func doesNotRetry(reused: Bool, retryable: Bool) {
        var machine = Machine()
        let disposition = Machine.Disposition.forward(Self.upstreamHead, sendContinue: false, retryable: retryable)
        _ = machine.requestHead(disposition, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: reused)
        guard case .sendLocalResponse(.badGateway, _, _) = machine.upstreamClosed() else {
            Issue.record("expected 502")
            return
        }
    }

    @Test func retriesWhenEndArrivesAfterPooledConnectionWasAttached() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        // A pooled connection is attached before the end of the same read burst arrives.
        _ = machine.upstreamReady(reused: true)
        _ = machine.requestEnd(nil)
        guard case .retry = machine.upstreamClosed() else {
            Issue.record("expected retry")
            return
        }
        guard case .sendRequest(_, _, let end) = machine.upstreamReady(reused: false) else {
            Issue.record("expected resend")
            return
        }
        #expect(end != nil)
    }

    @Test func noRetryOnceResponseStarted() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.upstreamReady(reused: true)
        _ = machine.requestEnd(nil)
        _ = machine.responseHead(Self.okHead, framedForClient: true)
        guard case .abort = machine.upstreamClosed() else {
            Issue.record("expected abort")
            return
        }
    }

    @Test func unframedResponseClosesClient() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        guard
            case .forwardResponseHead(_, clientKeepAlive: false) = machine.responseHead(
                Self.okHead, framedForClient: false)
        else {
            Issue.record("expected close announced")
            return
        }
        guard
            case .finishResponse(_, upstream: .close, client: .close) = machine.responseEnd(
                nil, upstreamKeepAlive: false)
        else {
            Issue.record("expected close")
            return
        }
    }

    @Test func earlyResponseClosesUpstreamAndSwallowsRestOfBody() {
        var machine = Machine()
        _ = machine.requestHead(Self.forwardPOST, clientKeepAlive: true, hasBody: true)
        _ = machine.upstreamReady(reused: false)
        _ = machine.responseHead(
            HTTP1Head(status: 413, headers: HTTP1Headers(), framing: .none), framedForClient: true)
        guard
            case .finishResponse(_, upstream: .close, client: .keepOpen) = machine.responseEnd(
                nil, upstreamKeepAlive: true)
        else {
            Issue.record("expected early finish")
            return
        }
        guard case .none = machine.requestBody(ByteBuffer(string: "late")) else {
            Issue.record("body must be dropped")
            return
        }
        #expect(!machine.isIdle)
        _ = machine.requestEnd(nil)
        #expect(machine.isIdle)
    }

    @Test func clientLeavingAbortsRunningExchange() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        guard case .abort = machine.clientClosed() else {
            Issue.record("expected abort")
            return
        }
        guard case .releaseUnusedUpstream = machine.upstreamReady(reused: false) else {
            Issue.record("late connection goes back to the pool")
            return
        }
        guard case .none = machine.upstreamFailed() else {
            Issue.record("expected nothing")
            return
        }
    }

    @Test func clientLeavingWhileIdleDoesNothing() {
        var machine = Machine()
        completedExchange(&machine)
        guard case .none = machine.clientClosed() else {
            Issue.record("expected nothing")
            return
        }
    }

    @Test func quiescingClosesAnIdleConnectionAfterItsLinger() {
        var machine = Machine()
        completedExchange(&machine)
        guard case .lingerBeforeClose = machine.quiesce() else {
            Issue.record("expected a linger")
            return
        }
        #expect(machine.isIdle)
        guard case .closeClient = machine.lingerEnded() else {
            Issue.record("expected close")
            return
        }
        #expect(machine.isClosed)
    }

    @Test func aRequestDuringTheLingerIsAnsweredWithConnectionClose() {
        var machine = Machine()
        completedExchange(&machine)
        _ = machine.quiesce()
        // The client had sent its next request already: it is served, and the connection closes after it.
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        guard case .none = machine.lingerEnded() else {
            Issue.record("the running request continues")
            return
        }
        expectServedWithConnectionClose(&machine)
    }

    @Test func quiescingClosesAfterRunningExchange() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        guard case .none = machine.quiesce() else {
            Issue.record("running exchange continues")
            return
        }
        expectServedWithConnectionClose(&machine)
    }

    @Test func quiescingAfterAKeepAliveHeadLingersAfterTheEnd() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        _ = machine.responseHead(Self.okHead, framedForClient: true)
        // The head went out without `Connection: close`: the client may send its next
        // request the moment the end arrives, so closing right after the end would lose it.
        _ = machine.quiesce()
        guard
            case .finishResponse(_, upstream: .pool, client: .lingerThenClose) = machine.responseEnd(
                nil, upstreamKeepAlive: true)
        else {
            Issue.record("expected a linger after the end")
            return
        }
        #expect(machine.isIdle)
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        expectServedWithConnectionClose(&machine)
    }

    @Test func quiescingWhileSwallowingABodyLingersAfterIt() {
        var machine = Machine()
        _ = machine.requestHead(Self.forwardPOST, clientKeepAlive: true, hasBody: true)
        _ = machine.upstreamReady(reused: false)
        _ = machine.responseHead(
            HTTP1Head(status: 413, headers: HTTP1Headers(), framing: .none), framedForClient: true)
        _ = machine.responseEnd(nil, upstreamKeepAlive: true)
        guard case .none = machine.quiesce() else {
            Issue.record("the body is still coming")
            return
        }
        guard case .lingerBeforeClose = machine.requestEnd(nil) else {
            Issue.record("expected a linger after the body")
            return
        }
        guard case .closeClient = machine.lingerEnded() else {
            Issue.record("expected close")
            return
        }
    }

    /// The running exchange's response announces `Connection: close`, and the connection
    /// closes after it.
    private func expectServedWithConnectionClose(_ machine: inout Machine) {
        _ = machine.upstreamReady(reused: false)
        guard
            case .forwardResponseHead(_, clientKeepAlive: false) = machine.responseHead(
                Self.okHead, framedForClient: true)
        else {
            Issue.record("expected connection: close announced")
            return
        }
        guard
            case .finishResponse(_, upstream: .pool, client: .close) = machine.responseEnd(
                nil, upstreamKeepAlive: true)
        else {
            Issue.record("expected close after response")
            return
        }
    }

    @Test func keepsServingSequentialRequests() {
        var machine = Machine()
        for _ in 0..<3 {
            completedExchange(&machine)
            #expect(machine.isIdle)
        }
    }

    @Test func unexpectedEventsCloseInsteadOfCrashing() {
        var body = Machine()
        guard case .closeClient = body.requestBody(ByteBuffer()) else {
            Issue.record("body while idle")
            return
        }
        var end = Machine()
        guard case .closeClient = end.requestEnd(nil) else {
            Issue.record("end while idle")
            return
        }
        var twice = Machine()
        _ = twice.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        guard case .closeClient = twice.requestHead(Self.forward, clientKeepAlive: true, hasBody: false) else {
            Issue.record("second head")
            return
        }
        var response = Machine()
        _ = response.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = response.upstreamReady(reused: false)
        guard case .abort = response.responseBody(ByteBuffer()) else {
            Issue.record("body before head")
            return
        }
    }

    // MARK: Upgrades (WebSockets and other protocol switches)

    static let upgrade = Machine.Disposition.forward(upstreamHead, sendContinue: false, retryable: true, upgrade: true)
    static let switchingHead = HTTP1Head(
        status: 101, headers: HTTP1Headers([("upgrade", "websocket"), ("connection", "upgrade")]), framing: .none)

    /// Drives an upgrade request to the point where the instance's 101 has ended: bytes flow.
    private func openTunnel(_ machine: inout Machine) {
        _ = machine.requestHead(Self.upgrade, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        _ = machine.responseHead(Self.switchingHead, framedForClient: true)
        _ = machine.responseEnd(nil, upstreamKeepAlive: true)
    }

    @Test func anUpgradeAnswered101SwitchesOnTheResponseEnd() {
        var machine = Machine()
        guard
            case .acquireUpstream(fresh: false, sendContinue: false) =
                machine.requestHead(Self.upgrade, clientKeepAlive: true, hasBody: false)
        else {
            Issue.record("an upgrade request is routed like any other")
            return
        }
        _ = machine.requestEnd(nil)
        guard case .sendRequest(_, _, end: .some) = machine.upstreamReady(reused: false) else {
            Issue.record("expected sendRequest with the end")
            return
        }
        guard case .forwardSwitchingHead(let head) = machine.responseHead(Self.switchingHead, framedForClient: true)
        else {
            Issue.record("a requested 101 is forwarded as a switching head")
            return
        }
        #expect(head.status == 101)
        #expect(!machine.isIdle)
        guard case .startTunnel = machine.responseEnd(nil, upstreamKeepAlive: true) else {
            Issue.record("the 101's end starts the tunnel")
            return
        }
        #expect(!machine.isIdle)
        #expect(!machine.isClosed)
        #expect(!machine.isWaitingForUpstream)
    }

    @Test func aTunnelIgnoresHTTPInputUntilItEnds() {
        var machine = Machine()
        openTunnel(&machine)
        guard case .none = machine.requestBody(ByteBuffer(string: "x")), case .none = machine.requestEnd(nil) else {
            Issue.record("client parts in a tunnel are not HTTP")
            return
        }
        #expect(!machine.isClosed)
    }

    @Test(arguments: ["client closed", "upstream closed", "timed out", "client protocol error"])
    func everyEndOfATunnelAborts(event: String) {
        var machine = Machine()
        openTunnel(&machine)
        let action: Machine.Action
        switch event {
        case "client closed": action = machine.clientClosed()
        case "upstream closed": action = machine.upstreamClosed()
        case "timed out": action = machine.timedOut("idle\n")
        default: action = machine.clientProtocolError()
        }
        guard case .abort = action else {
            Issue.record("\(event) in a tunnel must abort (release capacity, close both sides)")
            return
        }
        #expect(machine.isClosed)
        guard case .none = machine.clientClosed() else {
            Issue.record("a closed machine ignores more")
            return
        }
    }

    @Test(arguments: ["client closed", "upstream closed", "timed out"])
    func endingWhileSwitchingAborts(event: String) {
        var machine = Machine()
        _ = machine.requestHead(Self.upgrade, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        _ = machine.responseHead(Self.switchingHead, framedForClient: true)
        let action: Machine.Action
        switch event {
        case "client closed": action = machine.clientClosed()
        case "upstream closed": action = machine.upstreamClosed()
        default: action = machine.timedOut("request\n")
        }
        guard case .abort = action else {
            Issue.record("\(event) between the 101 and its end must abort")
            return
        }
        #expect(machine.isClosed)
    }

    @Test func quiescingLeavesATunnelRunning() {
        var machine = Machine()
        openTunnel(&machine)
        guard case .none = machine.quiesce() else {
            Issue.record("a tunnel runs until it ends or the grace period closes it")
            return
        }
        #expect(!machine.isClosed)
        guard case .abort = machine.clientClosed() else {
            Issue.record("the tunnel still holds its exchange after quiesce")
            return
        }
    }

    @Test func a101ToARequestThatAskedNoUpgradeAborts() {
        var machine = Machine()
        _ = machine.requestHead(Self.forward, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        guard case .abort = machine.responseHead(Self.switchingHead, framedForClient: true) else {
            Issue.record("an unrequested switch leaves the framing unknown")
            return
        }
        #expect(machine.isClosed)
    }

    @Test func a101BeforeTheWholeUpgradeRequestAborts() {
        var machine = Machine()
        _ = machine.requestHead(Self.upgrade, clientKeepAlive: true, hasBody: true)
        _ = machine.upstreamReady(reused: false)
        guard case .abort = machine.responseHead(Self.switchingHead, framedForClient: true) else {
            Issue.record("a switch before the request body ended cannot be spliced")
            return
        }
        #expect(machine.isClosed)
    }

    @Test func anUpgradeAnsweredWithoutSwitchingIsForwardedThenTheClientCloses() {
        var machine = Machine()
        _ = machine.requestHead(Self.upgrade, clientKeepAlive: true, hasBody: false)
        _ = machine.requestEnd(nil)
        _ = machine.upstreamReady(reused: false)
        guard
            case .forwardResponseHead(let head, clientKeepAlive: false) = machine.responseHead(
                Self.okHead, framedForClient: true)
        else {
            Issue.record("the answer is forwarded, announcing the close")
            return
        }
        #expect(head.status == 200)
        guard
            case .finishResponse(nil, upstream: .pool, client: .close) = machine.responseEnd(
                nil, upstreamKeepAlive: true)
        else {
            Issue.record("the client's framing ended with the upgrade request: close after the answer")
            return
        }
        #expect(machine.isClosed)
    }

    @Test func aSecond101InATunnelAborts() {
        var machine = Machine()
        openTunnel(&machine)
        guard case .abort = machine.responseHead(Self.switchingHead, framedForClient: true) else {
            Issue.record("HTTP from the instance inside a tunnel is a violation")
            return
        }
    }
}
