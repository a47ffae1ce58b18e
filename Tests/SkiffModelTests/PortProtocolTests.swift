import Foundation
import SkiffModel
import Testing

/// A service's port protocol: stored with its spec, absent from specs written before it.
struct PortProtocolTests {
    @Test func anH2CSpecRoundTripsThroughJSON() throws {
        let spec = ServiceSpec(image: "grpc-ping:v1", portProtocol: .h2c)
        let json = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        #expect(json.contains(#""portProtocol":"h2c""#), "\(json)")
        #expect(try JSONDecoder().decode(ServiceSpec.self, from: Data(json.utf8)) == spec)
    }

    /// Specs stored before the field existed read back as http1 and equal to a new default
    /// spec, so a server upgrade makes no new revisions; a default spec writes what they had.
    @Test func http1IsLeftOutSoOlderSpecsCompareEqual() throws {
        let stored = #"{"env":[],"image":"hello:v1","port":8080,"scaling":{},"timeouts":{}}"#
        let old = try JSONDecoder().decode(ServiceSpec.self, from: Data(stored.utf8))
        #expect(old.portProtocol == .http1)
        #expect(old == ServiceSpec(image: "hello:v1"))
        let written = String(decoding: try JSONEncoder().encode(ServiceSpec(image: "hello:v1")), as: UTF8.self)
        #expect(!written.contains("portProtocol"), "\(written)")
    }

    @Test func anExplicitHTTP1ReadsAsTheDefault() throws {
        let spec = try JSONDecoder().decode(
            ServiceSpec.self, from: Data(#"{"image":"hello:v1","portProtocol":"http1"}"#.utf8))
        #expect(spec == ServiceSpec(image: "hello:v1"))
    }

    @Test func anUnknownProtocolInJSONNamesTheAllowedOnes() {
        let error = #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ServiceSpec.self, from: Data(#"{"image":"x","portProtocol":"h2"}"#.utf8))
        }
        guard case .dataCorrupted(let context)? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.codingPath.map(\.stringValue) == ["portProtocol"])
        #expect(context.debugDescription.hasPrefix(#"invalid port protocol "h2": use http1 or h2c"#))
    }

    @Test func parsingAFlagValueNamesTheFlagAndTheAllowedValues() throws {
        #expect(try PortProtocol(parsing: "h2c") == .h2c)
        #expect(try PortProtocol(parsing: "http1") == .http1)
        let error = #expect(throws: ModelError.self) { try PortProtocol(parsing: "grpc") }
        #expect(error?.field == "portProtocol")
        #expect(error?.message.hasPrefix(#"invalid --port-protocol "grpc": use http1 or h2c"#) == true)
    }
}
