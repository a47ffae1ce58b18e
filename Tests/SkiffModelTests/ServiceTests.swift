import Foundation
import SkiffModel
import Testing

@Suite struct ServiceNameTests {
    @Test(arguments: ["web", "hello-world", "a1", "x", String(repeating: "a", count: 49)])
    func acceptsDNSLabels(name: String) throws {
        #expect(try ServiceName(name).rawValue == name)
    }

    @Test(arguments: [
        "", "Web", "1web", "web-", "-web", "we_b", "we.b", "tag---web", "wéb", String(repeating: "a", count: 50),
    ])
    func rejectsNonLabels(name: String) {
        #expect(throws: ModelError.self) { try ServiceName(name) }
    }
}

@Suite struct ServiceSpecTests {
    @Test func decodesWithDefaults() throws {
        let spec = try JSONDecoder().decode(ServiceSpec.self, from: Data(#"{"image":"hello:v1"}"#.utf8))
        #expect(spec.port == 8080)
        #expect(spec.minInstances == 0)
        #expect(spec.scaling.initialInstances == 1)
        #expect(spec.scaling.window == .seconds(60))
        #expect(spec.timeouts.request == .seconds(300))
        #expect(spec.env.isEmpty)
        #expect(spec.memory == nil)
    }

    @Test func roundTripsQuantitiesAsStrings() throws {
        let spec = ServiceSpec(
            image: "hello:v1", env: [EnvVar(name: "GREETING", value: "hi")], memory: try MemoryQuantity("128Mi"),
            cpu: try CPUQuantity("0.5"), minInstances: 2)
        let json = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        #expect(json.contains(#""memory":"128Mi""#))
        #expect(json.contains(#""cpu":"500m""#))
        #expect(try JSONDecoder().decode(ServiceSpec.self, from: Data(json.utf8)) == spec)
    }

    @Test func readsTheMinInstancesOfSpecsStoredBeforeAutoscaling() throws {
        let spec = try JSONDecoder().decode(ServiceSpec.self, from: Data(#"{"image":"x","minInstances":2}"#.utf8))
        #expect(spec.minInstances == 2)
        #expect(spec.scaling.initialInstances == 2)
    }

    @Test func scalingDurationsReadTextOrSeconds() throws {
        let spec = try JSONDecoder().decode(
            ServiceSpec.self,
            from: Data(
                #"{"image":"x","scaling":{"window":"90s","scaleToZeroGrace":5},"timeouts":{"request":"1m"}}"#.utf8))
        #expect(spec.scaling.window == .seconds(90))
        #expect(spec.scaling.scaleToZeroGrace == .seconds(5))
        #expect(spec.timeouts.request == .seconds(60))
        #expect(spec.timeouts.responseStart == .seconds(300))
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(ServiceSpec.self, from: Data(#"{"image":"x","scaling":{"window":"soon"}}"#.utf8))
        }
    }

    @Test func targetDefaultsToTheHardLimit() {
        var scaling = ScalingSpec()
        #expect(scaling.effectiveTarget == 100)
        #expect(scaling.queueDepth == 10_000)
        scaling.concurrency = 4
        #expect(scaling.effectiveTarget == 4)
        #expect(scaling.queueDepth == 4000)
        scaling.maxInstances = 3
        #expect(scaling.queueDepth == 120)
        scaling.concurrency = 1000
        #expect(scaling.queueDepth == 10_000)
        scaling.concurrency = 4
        scaling.target = 10
        #expect(scaling.effectiveTarget == 4)
        scaling.target = 2
        #expect(scaling.effectiveTarget == 2)
    }

    @Test func rejectsInvalidMemoryInJSON() {
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(ServiceSpec.self, from: Data(#"{"image":"x","memory":"lots"}"#.utf8))
        }
    }

    @Test(arguments: [
        ServiceSpec(image: "x", port: 0), ServiceSpec(image: "x", port: 70000), ServiceSpec(image: ""),
        ServiceSpec(image: "x", minInstances: -1), ServiceSpec(image: "x", minInstances: 5000),
        ServiceSpec(image: "x", env: [EnvVar(name: "PORT", value: "1")]),
        ServiceSpec(image: "x", env: [EnvVar(name: "A", value: "1"), EnvVar(name: "A", value: "2")]),
        ServiceSpec(image: "x", env: [EnvVar(name: "1A", value: "1")]), ServiceSpec(image: "x", command: []),
    ])
    func validationRejects(spec: ServiceSpec) {
        #expect(throws: ModelError.self) { try spec.validate() }
    }

    @Test func envParsing() throws {
        #expect(try EnvVar(parsing: "A=b=c") == EnvVar(name: "A", value: "b=c"))
        #expect(try EnvVar(parsing: "EMPTY=") == EnvVar(name: "EMPTY", value: ""))
        #expect(throws: ModelError.self) { try EnvVar(parsing: "NOEQUALS") }
    }

    @Test func revisionNamesAreFiveDigits() {
        #expect(Revision.name(service: "web", generation: 1) == "web-00001")
        #expect(Revision.name(service: "web", generation: 123456) == "web-123456")
    }
}
