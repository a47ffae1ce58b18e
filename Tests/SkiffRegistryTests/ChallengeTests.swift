import Testing

@testable import SkiffRegistry

@Suite struct ChallengeTests {
    @Test func bearerChallengeParametersAreRead() {
        let parameters = UpstreamPuller.Session.challengeParameters(
            #" realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull""#)
        #expect(parameters["realm"] == "https://auth.example.com/token")
        #expect(parameters["service"] == "registry.example.com")
        #expect(parameters["scope"] == "repository:team/app:pull")
    }

    @Test func unquotedValuesAndSpacesAreTolerated() {
        let parameters = UpstreamPuller.Session.challengeParameters(#" realm=https://a/token, service=reg"#)
        #expect(parameters["realm"] == "https://a/token")
        #expect(parameters["service"] == "reg")
    }
}
