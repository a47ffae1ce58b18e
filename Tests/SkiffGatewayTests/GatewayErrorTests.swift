import SkiffGateway
import Testing

@Suite struct GatewayErrorTests {
    private struct SocketFailure: Error, CustomStringConvertible {
        var description: String { "bind(descriptor:ptr:bytes:): Address already in use (errno: 98)" }
    }

    @Test func theCauseFollowsTheMessage() {
        let error = GatewayError(code: .bindFailed, message: "cannot listen on 0.0.0.0:8080", cause: SocketFailure())
        #expect("\(error)" == "cannot listen on 0.0.0.0:8080: \(SocketFailure())")
    }

    @Test func aMessageThatQuotesItsCauseSaysItOnce() {
        let cause = SocketFailure()
        let error = GatewayError(code: .bindFailed, message: "cannot listen on 0.0.0.0:8080: \(cause)", cause: cause)
        #expect("\(error)" == "cannot listen on 0.0.0.0:8080: \(cause)")
    }
}
