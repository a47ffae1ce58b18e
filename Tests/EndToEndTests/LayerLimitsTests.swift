import Crypto
import Foundation
import NIOHTTP1
import SkiffTestSupport
import Testing

/// A decompression bomb pushed to the server's registry: its deploy and its load fail with
/// an error that names the image and the limit with its value, nothing of it stays on disk,
/// and the server keeps serving the service it already ran.
@Suite(.serialized) struct LayerLimitsTests {
    /// An OCI layout in `directory` whose image `v1` has one gzip layer: a 1 GiB file of zeros
    /// in 1 MiB gzip members, about 1 MiB in all, so it expands about 1000:1.
    static func writeBomb(into directory: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory + "/blobs/sha256", withIntermediateDirectories: true)
        func put(_ bytes: [UInt8]) throws -> (digest: String, size: Int) {
            let hex = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/blobs/sha256/" + hex))
            return ("sha256:" + hex, bytes.count)
        }
        var header = TarBuilder()
        var entry = TarBuilder.Entry(name: "zeros", typeflag: TarBuilder.TypeFlag.regular)
        entry.declaredSize = 1 << 30
        header.append(entry)
        let megabyte = try TarBuilder.gzip([UInt8](repeating: 0, count: 1 << 20))
        var layer = try TarBuilder.gzip(Array(header.finish().prefix(512)))
        for _ in 0..<1024 { layer += megabyte }
        layer += try TarBuilder.gzip([UInt8](repeating: 0, count: 1024))
        let layerBlob = try put(layer)
        // The diff_id is never reached: the unpack stops long before the end of the stream.
        let config = try put(
            Array(
                #"{"architecture":"amd64","os":"linux","config":{"Cmd":["/zeros"]},"rootfs":{"type":"layers","diff_ids":["sha256:\#(String(repeating: "0", count: 64))"]}}"#
                    .utf8))
        let manifest = try put(
            Array(
                #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config.digest)","size":\#(config.size)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(layerBlob.digest)","size":\#(layerBlob.size)}]}"#
                    .utf8))
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(
            toFile: directory + "/oci-layout", atomically: true, encoding: .utf8)
        try
            #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(manifest.digest)","size":\#(manifest.size),"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}"#
            .write(toFile: directory + "/index.json", atomically: true, encoding: .utf8)
    }

    @Test(.enabled(if: E2E.enabled)) func aBombFailsItsDeployByNameAndTheServerServesOn() async throws {
        try await E2E.withServer { server in
            _ = try await server.skiffOK(["deploy", "keep", "--image", "hello:v1", "--port", "8080"])
            let registry = "127.0.0.1:\(server.apiPort)"
            let layout = server.dataDir + "/bomb"
            try Self.writeBomb(into: layout)

            let pushed = try await server.skiff(["push", layout + ":v1", "\(registry)/team/bomb:v1"])
            #expect(pushed.status == 0, "the bomb is small and the push accepts it: \(pushed.stderr)")
            let deploy = try await server.skiff(["deploy", "bomb", "--image", "\(registry)/team/bomb:v1"])
            #expect(deploy.status != 0)
            #expect(deploy.stderr.contains("image \(registry)/team/bomb:v1"), "\(deploy.stderr)")
            #expect(deploy.stderr.contains("expansion-ratio limit 100:1"), "\(deploy.stderr)")

            let load = try await server.skiff(["images", "load", layout + ":v1", "--tag", "bomb:v2"])
            #expect(load.status != 0)
            #expect(load.stderr.contains("image bomb:v2"), "\(load.stderr)")
            #expect(load.stderr.contains("expansion-ratio limit 100:1"), "\(load.stderr)")

            // No snapshot, finished or partial, of the bomb's layer stays.
            let snapshots = try FileManager.default.contentsOfDirectory(atPath: server.dataDir + "/snapshots/sha256")
            let layers = try FileManager.default.contentsOfDirectory(atPath: layout + "/blobs/sha256")
            for name in snapshots {
                #expect(!layers.contains { name.hasPrefix($0) }, "left behind: snapshots/sha256/\(name)")
            }

            let response = try await server.gateway("/", host: "keep.localhost")
            #expect(response.status == .ok)
            #expect(response.body.contains("Hello from Skiff"))
            let services = try await server.skiffOK(["services", "list"])
            #expect(services.contains("keep") && !services.contains("bomb"))
        }
    }

    /// The limits are the server's own settings: with 1 MiB per layer and per image, the
    /// registry refuses the bomb's 1 MiB blob as it is pushed, and a load (which takes blobs
    /// of any size) stops unpacking it at 1 MiB.
    @Test(.enabled(if: E2E.enabled)) func theServersFlagsSetTheLimits() async throws {
        let limits = ["--max-layer-size", "1Mi", "--max-image-size", "1Mi"]
        try await E2E.withServer(arguments: limits, loadingSample: false) { server in
            let registry = "127.0.0.1:\(server.apiPort)"
            let layout = server.dataDir + "/bomb"
            try Self.writeBomb(into: layout)

            let pushed = try await server.skiff(["push", layout + ":v1", "\(registry)/team/bomb:v1"])
            #expect(pushed.status != 0, "a blob over --max-layer-size was accepted")
            #expect(pushed.stderr.contains("SIZE_INVALID") || pushed.stderr.contains("413"), "\(pushed.stderr)")

            let load = try await server.skiff(["images", "load", layout + ":v1", "--tag", "bomb:v2"])
            #expect(load.status != 0)
            #expect(load.stderr.contains("image bomb:v2"), "\(load.stderr)")
            #expect(load.stderr.contains("1048576") || load.stderr.contains("1 MiB"), "\(load.stderr)")
        }
    }
}
