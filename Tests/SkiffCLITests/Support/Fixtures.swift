import Foundation
import SkiffModel

/// Model values the tests render and serve.
enum Fixtures {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    static var spec: ServiceSpec {
        ServiceSpec(
            image: "hello:v1", port: 8080, env: [EnvVar(name: "GREETING", value: "hi")],
            memory: MemoryQuantity(bytes: 128 << 20), cpu: CPUQuantity(millis: 500), minInstances: 2)
    }

    static var service: Service {
        Service(
            name: "web", spec: spec, latestRevision: "web-00002",
            imageDigest: "sha256:" + String(repeating: "ab", count: 32),
            url: "http://web.localhost:8080/", createdAt: now.addingTimeInterval(-7200),
            updatedAt: now.addingTimeInterval(-180),
            readyInstances: 2, latestReadyRevision: "web-00002")
    }

    static var instances: [Instance] {
        [
            Instance(
                id: "web-00002-a1b2c", service: "web", revision: "web-00002", state: .ready, address: "10.88.0.2:8080",
                startedAt: now.addingTimeInterval(-180), restarts: 0),
            Instance(
                id: "web-00002-d3e4f", service: "web", revision: "web-00002", state: .starting, address: nil,
                startedAt: nil, restarts: 1),
        ]
    }

    static var image: ImageSummary {
        ImageSummary(
            name: "hello:v1", digest: "sha256:" + String(repeating: "cd", count: 32), size: 12_900_000,
            createdAt: now.addingTimeInterval(-30))
    }
}
