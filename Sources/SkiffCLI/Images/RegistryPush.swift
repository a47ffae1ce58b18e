import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SkiffOCI

/// `skiff push`: copies one image of an OCI layout to a registry with the distribution API,
/// as `skopeo copy oci:DIR:REF docker://HOST/NAME:TAG` would: blobs the registry lacks are
/// uploaded (single-request POST with the digest), then the manifest is put under the tag.
struct RegistryPush {
    let directory: String
    let ref: String?
    let destination: Reference
    /// A Skiff token, sent as the Basic password.
    let token: String?
    let progress: ProgressLine

    struct Result: Codable, Sendable {
        var reference: String
        var digest: String
        var uploadedBlobs: Int
        var existingBlobs: Int
        var uploadedBytes: Int64
    }

    func run() async throws -> Result {
        guard let host = destination.host, let repository = destination.repository else {
            throw CLIError(.invalidInput, "invalid destination \(destination): expected HOST:PORT/NAME:TAG")
        }
        let tag = destination.tag ?? Reference.defaultTag
        let (descriptor, manifestBytes) = try selectManifest()
        let manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes))
        } catch {
            throw CLIError(
                .invalidInput, "manifest \(descriptor.digest) in \(directory) is not an image manifest: \(error)")
        }
        let base = "http://\(host)/v2/\(repository)"
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            var result = Result(
                reference: "\(host)/\(repository):\(tag)", digest: descriptor.digest.description,
                uploadedBlobs: 0, existingBlobs: 0, uploadedBytes: 0)
            let blobs = [manifest.config] + manifest.layers
            let total = blobs.reduce(Int64(0)) { $0 + $1.size }
            var done: Int64 = 0
            for blob in blobs {
                if try await send(client, .HEAD, "\(base)/blobs/\(blob.digest)", expect: [200, 404]) == 200 {
                    result.existingBlobs += 1
                    done += blob.size
                    continue
                }
                let path = "\(directory)/blobs/\(blob.digest.algorithm)/\(blob.digest.encoded)"
                let start = done
                let stream = FileStream(path: path, size: blob.size) { sent in
                    progress.update("Pushing \(Humanize.size(start + sent)) of \(Humanize.size(total))")
                }
                _ = try await send(
                    client, .POST, "\(base)/blobs/uploads/?digest=\(blob.digest)", expect: [201],
                    body: .stream(stream, length: .known(blob.size)), contentType: "application/octet-stream")
                done += blob.size
                result.uploadedBlobs += 1
                result.uploadedBytes += blob.size
            }
            _ = try await send(
                client, .PUT, "\(base)/manifests/\(tag)", expect: [201], body: .bytes(manifestBytes),
                contentType: descriptor.mediaType)
            progress.clear()
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func selectManifest() throws -> (Descriptor, [UInt8]) {
        let index: Index
        do {
            index = try JSONDecoder().decode(
                Index.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/index.json")))
        } catch {
            throw CLIError(
                .invalidInput,
                "\(directory) is not an OCI image layout: cannot read index.json (\(error.localizedDescription))")
        }
        let candidates = ref.map { wanted in index.manifests.filter { $0.refName == wanted } } ?? index.manifests
        guard candidates.count == 1, let descriptor = candidates.first else {
            let names = index.manifests.compactMap(\.refName).joined(separator: ", ")
            throw CLIError(
                .invalidInput,
                candidates.isEmpty
                    ? "no manifest named \(ref ?? "") in \(directory) (it has: \(names.isEmpty ? "none named" : names))"
                    : "\(directory) holds several images: name one as DIR:REF (one of: \(names))")
        }
        let path = "\(directory)/blobs/\(descriptor.digest.algorithm)/\(descriptor.digest.encoded)"
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw CLIError(.invalidInput, "\(directory) lacks blob \(descriptor.digest)")
        }
        return (descriptor, Array(bytes))
    }

    private func send(
        _ client: HTTPClient, _ method: HTTPMethod, _ url: String, expect: Set<UInt>,
        body: HTTPClientRequest.Body? = nil, contentType: String? = nil
    ) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token {
            request.headers.add(
                name: "Authorization", value: "Basic " + Data("skiff:\(token)".utf8).base64EncodedString())
        }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = body }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .hours(1))
        } catch {
            throw ConnectionFailure.describe(error, server: url)
        }
        let bytes = try? await response.body.collect(upTo: 1 << 20)
        guard expect.contains(response.status.code) else {
            struct Errors: Decodable {
                struct Entry: Decodable {
                    var code: String
                    var message: String
                }
                var errors: [Entry]
            }
            let detail = bytes.flatMap { try? JSONDecoder().decode(Errors.self, from: Data($0.readableBytesView)) }?
                .errors.first
            throw CLIError(
                .api,
                "\(method) \(url): \(response.status.code) \(detail.map { "\($0.code): \($0.message)" } ?? response.status.reasonPhrase)"
            )
        }
        return response.status.code
    }
}
