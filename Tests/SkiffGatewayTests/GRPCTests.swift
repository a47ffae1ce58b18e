import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

@testable import SkiffGateway

/// What the gateway reads of a gRPC call and how it answers one itself.
@Suite("GRPC")
struct GRPCTests {
    @Test(arguments: [
        ("1H", TimeAmount.hours(1)), ("2M", .minutes(2)), ("3S", .seconds(3)), ("4m", .milliseconds(4)),
        ("5u", .microseconds(5)), ("6n", .nanoseconds(6)), ("0m", .zero), ("200m", .milliseconds(200)),
        ("12345678S", .seconds(12_345_678)), ("00000010m", .milliseconds(10)),
    ])
    func parsesEveryUnit(value: String, expected: TimeAmount) {
        #expect(GRPC.parseTimeout(value) == expected)
    }

    @Test(arguments: [
        "", "m", "S", "10", "1", "123456789m", "1x", "1h", "1s", "a1m", "1a1m", "-1m", "+1m", " 1m", "1m ",
        "1.5S", "1 m", "0x1m", "١m",
    ])
    func refusesMalformedTimeouts(value: String) {
        #expect(GRPC.parseTimeout(value) == nil)
    }

    /// Eight nines of hours overflow nanoseconds in 64 bits: a client's header must not crash
    /// the gateway, and the deadline is as far as can be said.
    @Test func aHugeTimeoutIsCappedRatherThanOverflowing() {
        let parsed = GRPC.parseTimeout("99999999H")
        #expect(parsed != nil)
        #expect((parsed ?? .zero) > .hours(1_000_000))
    }

    @Test func readsTheTimeoutHeader() {
        #expect(GRPC.timeout(["grpc-timeout": "250m"]) == .milliseconds(250))
        #expect(GRPC.timeout(["Grpc-Timeout": "1S"]) == .seconds(1))
        #expect(GRPC.timeout(["grpc-timeout": "soon"]) == nil)
        #expect(GRPC.timeout([:]) == nil)
    }

    @Test(arguments: [
        ("application/grpc", true), ("application/grpc+proto", true), ("application/grpc+json", true),
        ("application/grpc;charset=utf-8", true), ("Application/GRPC", true), ("APPLICATION/GRPC+PROTO", true),
        // gRPC-Web carries its trailers in the body, so a trailers-only head would not be read as one.
        ("application/grpc-web", false), ("application/grpc-web+proto", false), ("application/grpc-web-text", false),
        ("application/grpcx", false), ("application/grp", false), ("application/json", false), ("", false),
        ("text/plain; application/grpc", false),
    ])
    func tellsAGRPCCallByItsContentType(contentType: String, isGRPC: Bool) {
        #expect(GRPC.isRequest(["content-type": contentType]) == isGRPC)
    }

    @Test func aRequestWithoutContentTypeIsNoGRPCCall() {
        #expect(!GRPC.isRequest(["te": "trailers"]))
    }

    @Test(arguments: [
        (HTTPResponseStatus.gatewayTimeout, 4),  // the call's deadline passed
        (.serviceUnavailable, 14), (.tooManyRequests, 14), (.badGateway, 14),  // unavailable: retry
        (.notFound, 12),  // no such service: unimplemented, as gRPC maps 404
        (.badRequest, 13), (.internalServerError, 13),  // internal
    ])
    func mapsTheGatewaysOwnAnswersToGRPCStatuses(http: HTTPResponseStatus, grpcStatus: Int) {
        let headers = GRPC.statusTrailers(for: http, "whatever\n")
        #expect(headers["grpc-status"] == [String(grpcStatus)])
        #expect(headers["grpc-message"] == ["whatever"])
    }

    @Test func percentEncodesTheMessage() {
        #expect(GRPC.percentEncoded("plain text, 100 ok") == "plain text, 100 ok")
        #expect(GRPC.percentEncoded("100%") == "100%25")
        #expect(GRPC.percentEncoded("héllo") == "h%C3%A9llo")
        #expect(GRPC.percentEncoded("a\nb\tc\u{7F}") == "a%0Ab%09c%7F")
        #expect(GRPC.percentEncoded("~ !") == "~ !")
        #expect(GRPC.percentEncoded("") == "")
    }

    @Test func statusTrailersDropOneTrailingNewlineAndEncodeTheRest() {
        let headers = GRPC.statusTrailers(for: .gatewayTimeout, "took 100% of\nthe limit\n")
        #expect(headers["grpc-message"] == ["took 100%25 of%0Athe limit"])
    }
}

/// A gRPC call's own deadline next to its revision's request timeout.
@Suite("ExchangeTimeouts.limitRequest")
struct ExchangeTimeoutsLimitRequestTests {
    static let arrival = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func requestLimit(_ timeouts: ExchangeTimeouts, at now: NIODeadline) -> TimeAmount? {
        guard case .request(let limit) = timeouts.expired(at: now) else { return nil }
        return limit
    }

    @Test func aShorterDeadlineWins() {
        var timeouts = ExchangeTimeouts()
        timeouts.start(RevisionSettings(requestTimeout: .seconds(10)), at: Self.arrival)
        timeouts.limitRequest(to: .seconds(1), at: Self.arrival)
        #expect(timeouts.nextDeadline == Self.arrival + .seconds(1))
        #expect(timeouts.expired(at: Self.arrival + .milliseconds(999)) == nil)
        #expect(Self.requestLimit(timeouts, at: Self.arrival + .seconds(1)) == .seconds(1))
    }

    @Test func aLongerDeadlineIsIgnored() {
        var timeouts = ExchangeTimeouts()
        timeouts.start(RevisionSettings(requestTimeout: .seconds(1)), at: Self.arrival)
        timeouts.limitRequest(to: .seconds(10), at: Self.arrival + .seconds(5))
        #expect(timeouts.nextDeadline == Self.arrival + .seconds(1))
        #expect(Self.requestLimit(timeouts, at: Self.arrival + .seconds(1)) == .seconds(1))
    }

    @Test func aDeadlineActivatesTimeoutsWhenTheRevisionHasNone() {
        var timeouts = ExchangeTimeouts()
        timeouts.start(RevisionSettings(), at: Self.arrival)
        #expect(!timeouts.isActive)
        #expect(timeouts.nextDeadline == nil)
        timeouts.limitRequest(to: .milliseconds(200), at: Self.arrival)
        #expect(timeouts.isActive)
        #expect(timeouts.nextDeadline == Self.arrival + .milliseconds(200))
        #expect(Self.requestLimit(timeouts, at: Self.arrival + .milliseconds(200)) == .milliseconds(200))
    }

    /// With only an idle timeout running, the deadline still counts from the request's arrival.
    @Test func aDeadlineCountsFromTheArrivalWhenOtherTimeoutsRun() {
        var timeouts = ExchangeTimeouts()
        timeouts.start(RevisionSettings(idleTimeout: .seconds(5)), at: Self.arrival)
        timeouts.limitRequest(to: .seconds(1), at: Self.arrival + .milliseconds(500))
        #expect(timeouts.nextDeadline == Self.arrival + .seconds(1))
        #expect(Self.requestLimit(timeouts, at: Self.arrival + .seconds(1)) == .seconds(1))
    }

    @Test func anEqualDeadlineChangesNothing() {
        var timeouts = ExchangeTimeouts()
        timeouts.start(RevisionSettings(requestTimeout: .seconds(2)), at: Self.arrival)
        timeouts.limitRequest(to: .seconds(2), at: Self.arrival)
        #expect(timeouts.nextDeadline == Self.arrival + .seconds(2))
    }
}

@Suite("GRPC status in a response head")
struct GRPCStatusMoveTests {
    @Test func aTrailersOnlyHeadGivesUpItsStatusFieldsForTheTrailers() {
        var head: HPACKHeaders = [
            "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "not%20here",
        ]
        let status = GRPC.takeStatus(from: &head)
        #expect(head["grpc-status"].isEmpty)
        #expect(head["grpc-message"].isEmpty)
        #expect(head["content-type"] == ["application/grpc"])
        #expect(status?["grpc-status"] == ["5"])
        #expect(status?["grpc-message"] == ["not%20here"])
        #expect(GRPC.merge(nil, status)?["grpc-status"] == ["5"])
    }

    @Test func aHeadWithoutStatusKeepsEverything() {
        var head: HPACKHeaders = ["content-type": "application/grpc"]
        #expect(GRPC.takeStatus(from: &head) == nil)
        #expect(head.count == 1)
        let trailers: HPACKHeaders = ["grpc-status": "0"]
        #expect(GRPC.merge(trailers, nil) == trailers)
    }
}
