// swift-tools-version:6.1
import PackageDescription

// Swift 6 language mode everywhere, with the upcoming features Hummingbird builds with.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "skiff",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "skiff", targets: ["skiff"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Already built for async-http-client; the gateway speaks HTTP/2 (h2c) to clients and instances.
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        // Already built for SwiftNIO; the activator's queue is its Deque, without NIO.
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // Already built for Hummingbird; the registry names its own header fields with it.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // /metrics in the Prometheus text format (issue 4).
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "skiff",
            dependencies: ["SkiffCLI"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffCLI",
            dependencies: [
                "SkiffAutoscaler", "SkiffErrors", "SkiffModel", "SkiffOCI", "SkiffServer", "SkiffArchive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffServer",
            dependencies: [
                "SkiffAPI", "SkiffController", "SkiffGateway", "SkiffRegistry", "SkiffRuntime", "SkiffStore",
                "SkiffOCI", "SkiffArchive",
                "SkiffErrors",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "SkiffAutoscaler", dependencies: ["SkiffBalancing", "SkiffModel"], swiftSettings: swiftSettings),
        // The balancer's pick and the activator's queue: shared by the gateway and `skiff simulate`.
        .target(
            name: "SkiffBalancing",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffRegistry",
            dependencies: [
                "SkiffArchive", "SkiffErrors", "SkiffModel", "SkiffOCI", "SkiffStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffAPI",
            dependencies: [
                "SkiffController", "SkiffRegistry", "SkiffRuntime", "SkiffStore", "SkiffOCI", "SkiffModel",
                "SkiffErrors",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffController",
            dependencies: [
                "SkiffAutoscaler", "SkiffRegistry", "SkiffRuntime", "SkiffGateway", "SkiffStore", "SkiffOCI",
                "SkiffModel",
                "SkiffErrors",
                // httpGet probes.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffGateway",
            dependencies: [
                "SkiffBalancing", "SkiffErrors", "SkiffHTTP1",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The gateway's hot-path HTTP/1 parser: as strict as llhttp, checked against NIO's.
        .target(
            name: "SkiffHTTP1",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffRuntime",
            dependencies: [
                "SkiffErrors", "SkiffOCI", "SkiffModel",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffOCI",
            dependencies: [
                "SkiffArchive", "SkiffErrors",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffArchive",
            dependencies: [
                "SkiffErrors",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffStore",
            dependencies: [
                "SkiffErrors", "SkiffModel",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SkiffModel",
            // Knative YAML: its node API walks a manifest key by key to report unknown fields.
            dependencies: ["SkiffErrors", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The one shape of every module's errors; depends on nothing.
        .target(name: "SkiffErrors", swiftSettings: swiftSettings),
        .target(
            name: "SkiffTestSupport",
            dependencies: [
                "SkiffModel", "SkiffOCI", "SkiffRuntime",
                // The end-to-end server harness talks HTTP to the server it starts.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SkiffErrorsTests", dependencies: ["SkiffErrors"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SkiffModelTests", dependencies: ["SkiffModel", "SkiffTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SkiffOCITests", dependencies: ["SkiffOCI", "SkiffTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SkiffArchiveTests",
            dependencies: [
                "SkiffArchive", "SkiffTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SkiffGatewayTests",
            dependencies: [
                "SkiffBalancing", "SkiffGateway",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SkiffHTTP1Tests",
            dependencies: [
                "SkiffHTTP1",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SkiffRuntimeTests",
            dependencies: ["SkiffRuntime", "SkiffTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SkiffStoreTests", dependencies: ["SkiffStore", "SkiffTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SkiffTestSupportTests", dependencies: ["SkiffRuntime", "SkiffTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SkiffControllerTests",
            dependencies: [
                "SkiffController", "SkiffGateway", "SkiffOCI", "SkiffRegistry", "SkiffRuntime", "SkiffStore",
                "SkiffTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                // TickedController runs a controller under a ServiceGroup.
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "SkiffAutoscalerTests", dependencies: ["SkiffAutoscaler"], swiftSettings: swiftSettings),
        .testTarget(name: "SkiffBalancingTests", dependencies: ["SkiffBalancing"], swiftSettings: swiftSettings),
        .testTarget(name: "SkiffServerTests", dependencies: ["SkiffServer"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SkiffRegistryTests",
            dependencies: [
                "SkiffRegistry", "SkiffModel", "SkiffOCI", "SkiffStore", "SkiffTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SkiffAPITests",
            dependencies: [
                "SkiffAPI", "SkiffController", "SkiffGateway", "SkiffOCI", "SkiffRegistry", "SkiffRuntime",
                "SkiffStore",
                "SkiffTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SkiffCLITests",
            dependencies: [
                "SkiffAutoscaler", "SkiffCLI", "SkiffModel", "SkiffServer", "SkiffArchive", "SkiffTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "SkiffCLI", "SkiffTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // Helpers the tests run by path, not sources.
            exclude: ["Support/token_server.py", "Support/validate_knative.py"],
            swiftSettings: swiftSettings
        ),
    ]
)
