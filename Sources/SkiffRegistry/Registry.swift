import Crypto
import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
public import SkiffArchive
import SkiffModel
public import SkiffOCI
public import SkiffStore
import SystemPackage

/// Crypto also exports a `Digest`; in this module the name means the content digest.
typealias Digest = SkiffOCI.Digest

/// The OCI Distribution Specification v1.1 under `/v2/`, over the same content store that
/// `skiff images load` fills: blobs by digest in the ``BlobStore``, manifests as blobs too,
/// and each repository's manifests and tags in the ``Store``.
///
/// Blobs are shared by every repository (one machine, one content store), so a
/// cross-repository mount of a stored blob always succeeds.
public struct Registry: Sendable {
    /// Manifests larger than this are refused with 413, as the spec allows.
    public static let manifestLimit = 4 << 20

    let store: Store
    let blobs: BlobStore
    let prefetcher: LayerPrefetcher?
    let auth: RegistryAuthenticator
    let uploads: UploadSessions
    let files = FileIO()
    /// The largest blob a push may store (`skiff server --max-layer-size`): a layer cannot
    /// unpack to more than that, and no compression makes a blob much larger than its content.
    public let maxBlobSize: Int64

    /// - Parameters:
    ///   - maxBlobSize: refused at push time, from the declared length or as bytes stream in.
    ///   - grant: what a token grants (nil: unknown token).
    public init(
        store: Store, blobs: BlobStore, prefetcher: LayerPrefetcher?,
        maxBlobSize: Int64 = UnpackLimits.defaultMaxLayerBytes,
        grant: @escaping @Sendable (String) async -> RegistryGrant?
    ) {
        self.store = store
        self.blobs = blobs
        self.prefetcher = prefetcher
        self.maxBlobSize = maxBlobSize
        self.auth = RegistryAuthenticator(grant: grant)
        self.uploads = UploadSessions(blobs: blobs, maxBlobSize: maxBlobSize)
    }

    /// Frees blobs nothing refers to any more (`skiff images gc`).
    public var garbageCollector: GarbageCollector { GarbageCollector(store: store, blobs: blobs) }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete] {
            for path in ["/v2", "/v2/**"] {
                router.on(RouterPath(path), method: method) { request, context in
                    try await self.handle(request, context: context)
                }
            }
        }
    }

    // MARK: Dispatch

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        var response: Response
        do {
            // The raw path, not the router's components: those drop empty segments, and
            // `a//b` is an invalid name, not `a/b`.
            var components = request.uri.path.dropFirst("/v2".count).split(
                separator: "/", omittingEmptySubsequences: false)
            if components.first == "" { components.removeFirst() }
            if components.last == "" { components.removeLast() }
            guard let path = try RegistryPath(components: components) else {
                throw RegistryError(.nameUnknown, "no such registry endpoint: \(request.uri.path)", status: .notFound)
            }
            let method = request.method
            try await auth.require(
                method == .get || method == .head ? .read : .write, on: path.repository, for: request)
            response = try await route(path, request, context: context)
        } catch let error as RegistryError {
            response = try error.response(from: request, context: context)
        }
        response.headers[Self.apiVersion] = "registry/2.0"
        return response
    }

    private func route(_ path: RegistryPath, _ request: Request, context: some RequestContext) async throws -> Response
    {
        switch (path, request.method) {
        case (.base, .get), (.base, .head):
            return Self.json(Data("{}".utf8), contentType: "application/json", head: request.method == .head)
        case (.blob(let repository, let digest), .get), (.blob(let repository, let digest), .head):
            return try await getBlob(repository, digest, request, context: context)
        case (.blob(_, let digest), .delete):
            return try await deleteBlob(digest)
        case (.uploads(let repository), .post):
            return try await startUpload(repository, request)
        case (.upload(let repository, let id), .patch):
            return try await patchUpload(repository, id, request)
        case (.upload(let repository, let id), .put):
            return try await finishUpload(repository, id, request)
        case (.upload(let repository, let id), .get):
            let offset = try await uploads.offset(of: id, repository: repository)
            return Response(status: .noContent, headers: Self.uploadHeaders(repository, id, offset))
        case (.upload(let repository, let id), .delete):
            guard await uploads.cancel(id, repository: repository) else {
                throw RegistryError(.blobUploadUnknown, "upload \(id) is unknown in \(repository)")
            }
            return Response(status: .noContent)
        case (.manifest(let repository, let reference), .get), (.manifest(let repository, let reference), .head):
            return try await getManifest(repository, reference, head: request.method == .head)
        case (.manifest(let repository, let reference), .put):
            return try await putManifest(repository, reference, request)
        case (.manifest(let repository, let reference), .delete):
            return try await deleteManifest(repository, reference)
        case (.tags(let repository), .get):
            return try await listTags(repository, request)
        case (.referrers(let repository, let digest), .get):
            return try await listReferrers(repository, digest, request)
        default:
            throw RegistryError(.unsupported, "\(request.method) is not supported on \(request.uri.path)")
        }
    }

    // MARK: Blobs

    private func getBlob(_ repository: String, _ text: String, _ request: Request, context: some RequestContext)
        async throws
        -> Response
    {
        let digest = try Self.digest(text)
        guard let size = blobs.size(of: digest) else {
            throw RegistryError(.blobUnknown, "blob \(digest) is unknown to this registry")
        }
        var headers: HTTPFields = [
            .contentType: "application/octet-stream", .acceptRanges: "bytes", Self.contentDigest: digest.description,
        ]
        var range: ClosedRange<Int64>?
        if let rangeHeader = request.headers[.range] {
            guard let parsed = Self.byteRange(rangeHeader, size: size) else {
                var error = RegistryError(.rangeInvalid, "range \(rangeHeader) is not satisfiable for \(size) bytes")
                error.headers[.contentRange] = "bytes */\(size)"
                throw error
            }
            range = parsed
        }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        let span = range ?? 0...max(0, size - 1)
        let length = size == 0 ? 0 : span.upperBound - span.lowerBound + 1
        headers[.contentLength] = String(length)
        if range != nil { headers[.contentRange] = "bytes \(span.lowerBound)-\(span.upperBound)/\(size)" }
        if request.method == .head || length == 0 {
            return Response(status: status, headers: headers)
        }
        let body = try await files.loadFile(
            path: blobs.path(for: digest).string, range: Int(span.lowerBound)...Int(span.upperBound), context: context,
            chunkLength: Self.readChunk)
        return Response(status: status, headers: headers, body: body)
    }

    private func deleteBlob(_ text: String) async throws -> Response {
        let digest = try Self.digest(text)
        guard blobs.contains(digest) else {
            throw RegistryError(.blobUnknown, "blob \(digest) is unknown to this registry")
        }
        let live = try await GarbageCollector(store: store, blobs: blobs).liveBlobs()
        if live.contains(digest) {
            throw RegistryError(
                .denied, "blob \(digest) is still referenced by a manifest, a tag or a revision; delete those first")
        }
        blobs.remove(digest)
        return Response(status: .accepted)
    }

    // MARK: Uploads

    private func startUpload(_ repository: String, _ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        if let mount = query["mount"] {
            // Every repository shares the content store: a known blob mounts at once.
            if let digest = try? Digest(String(mount)), blobs.contains(digest) {
                return Response(
                    status: .created,
                    headers: [
                        .location: "/v2/\(repository)/blobs/\(digest)", Self.contentDigest: digest.description,
                        .contentLength: "0",
                    ])
            }
        } else if let text = query["digest"] {
            // The single-request monolithic upload.
            let digest = try Self.digest(String(text))
            let declared = request.headers[.contentLength].flatMap { Int64($0) }
            if let declared, declared > maxBlobSize { throw Self.blobTooLarge(declared: declared, limit: maxBlobSize) }
            try await receive(request.body, into: digest, declaredLength: declared)
            return Self.blobCreated(repository, digest)
        }
        let id = try await uploads.start(repository: repository)
        return Response(status: .accepted, headers: Self.uploadHeaders(repository, id, 0))
    }

    private func patchUpload(_ repository: String, _ id: String, _ request: Request) async throws -> Response {
        var start: Int64?
        if let contentRange = request.headers[.contentRange] {
            guard let parsed = Self.uploadRange(contentRange) else {
                throw RegistryError(.rangeInvalid, "malformed Content-Range \(contentRange): expected START-END")
            }
            if let length = request.headers[.contentLength].flatMap({ Int64($0) }),
                length != parsed.upperBound - parsed.lowerBound + 1
            {
                throw RegistryError(
                    .rangeInvalid,
                    "Content-Range \(contentRange) covers \(parsed.count) bytes but Content-Length is \(length)")
            }
            start = parsed.lowerBound
            if parsed.upperBound >= maxBlobSize {
                await uploads.cancel(id, repository: repository)
                throw Self.blobTooLarge(declared: parsed.upperBound + 1, limit: maxBlobSize)
            }
        }
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }),
            let offset = try? await uploads.offset(of: id, repository: repository), offset + length > maxBlobSize
        {
            await uploads.cancel(id, repository: repository)
            throw Self.blobTooLarge(declared: offset + length, limit: maxBlobSize)
        }
        try await append(request.body, to: id, repository: repository, start: start)
        let offset = try await uploads.offset(of: id, repository: repository)
        return Response(status: .accepted, headers: Self.uploadHeaders(repository, id, offset))
    }

    private func finishUpload(_ repository: String, _ id: String, _ request: Request) async throws -> Response {
        guard let text = request.uri.queryParameters["digest"] else {
            await uploads.cancel(id, repository: repository)
            throw RegistryError(.digestInvalid, "completing an upload needs ?digest=")
        }
        let digest: Digest
        do {
            digest = try Self.digest(String(text))
        } catch {
            await uploads.cancel(id, repository: repository)
            throw error
        }
        try await append(request.body, to: id, repository: repository, start: nil)
        _ = try await uploads.finish(id, repository: repository, digest: digest)
        return Self.blobCreated(repository, digest)
    }

    private func append(_ body: RequestBody, to id: String, repository: String, start: Int64?) async throws {
        var start = start
        do {
            for try await buffer in body {
                try await uploads.append(buffer, to: id, repository: repository, start: start)
                start = nil
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            // The client went away mid-chunk: the upload keeps what arrived, as the spec's
            // resumable uploads expect, and GET on it reports how much that is.
            throw RegistryError(.blobUploadInvalid, "upload interrupted: \(error)")
        }
    }

    /// Streams a whole blob straight into the store, verified against `digest`.
    private func receive(_ body: RequestBody, into digest: Digest, declaredLength: Int64?) async throws {
        let writer: BlobWriter
        do {
            writer = try blobs.ingest(expected: digest, expectedSize: declaredLength)
        } catch {
            throw RegistryError(.digestInvalid, error.message)
        }
        do {
            for try await buffer in body {
                guard writer.written + Int64(buffer.readableBytes) <= maxBlobSize else {
                    writer.abort()
                    throw Self.blobTooLarge(declared: nil, limit: maxBlobSize)
                }
                try buffer.withUnsafeReadableBytes { bytes throws(OCIError) in try writer.write(bytes) }
            }
            _ = try writer.commit()
        } catch let error as OCIError {
            writer.abort()
            switch error.code {
            case .digestMismatch, .invalidDigest: throw RegistryError(.digestInvalid, error.message)
            case .sizeMismatch: throw RegistryError(.sizeInvalid, error.message)
            default: throw RegistryError(.blobUploadInvalid, error.message, status: .internalServerError)
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            writer.abort()
            throw RegistryError(.blobUploadInvalid, "upload interrupted: \(error)")
        }
    }

    // MARK: Manifests

    private func getManifest(_ repository: String, _ reference: String, head: Bool) async throws -> Response {
        let row = try await manifestRow(repository, reference)
        guard let digest = try? Digest(row.digest) else {
            throw RegistryError(.manifestUnknown, "manifest \(reference) is unknown in \(repository)")
        }
        let bytes: [UInt8]
        do {
            bytes = try blobs.read(digest, limit: Self.manifestLimit)
        } catch {
            throw RegistryError(.manifestUnknown, "manifest \(digest) is missing from the content store")
        }
        var response = Self.json(Data(bytes), contentType: row.mediaType, head: head)
        response.headers[Self.contentDigest] = digest.description
        return response
    }

    /// The manifest a read names. A reference that is neither a valid digest nor a valid tag
    /// names nothing that can exist, so it is unknown (404 MANIFEST_UNKNOWN), as the spec's
    /// conformance suite and docker-registry answer; only a push of such a tag is invalid.
    private func manifestRow(_ repository: String, _ reference: String) async throws -> ManifestRow {
        let digestText: String
        if reference.contains(":") {
            guard let digest = try? Digest(reference) else {
                throw RegistryError(.manifestUnknown, "manifest \(reference) is unknown in \(repository)")
            }
            digestText = digest.description
        } else {
            guard Reference.isValidTag(reference) else {
                throw RegistryError(.manifestUnknown, "manifest \(reference) is unknown in \(repository)")
            }
            guard let tagged = try await store.tagDigest(repository: repository, tag: reference) else {
                throw RegistryError(.manifestUnknown, "tag \(reference) is unknown in \(repository)")
            }
            digestText = tagged
        }
        if let row = try await store.manifest(repository: repository, digest: digestText) {
            return row
        }
        // Loaded with `skiff images load`: tagged in this repository (the tag found it, or a
        // tag points at the digest asked for), but never pushed through this API.
        var taggedHere = !reference.contains(":")
        if !taggedHere {
            taggedHere = try await store.images().contains {
                $0.name.hasPrefix(repository + ":") && $0.digest == digestText
            }
        }
        if taggedHere, let digest = try? Digest(digestText),
            let bytes = try? blobs.read(digest, limit: Self.manifestLimit),
            let parsed = try? ParsedManifest(bytes: bytes, contentType: nil)
        {
            return ManifestRow(
                repository: repository, digest: digestText, mediaType: parsed.mediaType, size: Int64(bytes.count))
        }
        throw RegistryError(.manifestUnknown, "manifest \(reference) is unknown in \(repository)")
    }

    private func putManifest(_ repository: String, _ reference: String, _ request: Request) async throws -> Response {
        var buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.manifestLimit)
        } catch {
            throw RegistryError(
                .sizeInvalid, "manifest is larger than \(Self.manifestLimit) bytes", status: .contentTooLarge)
        }
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let digest = SkiffOCI.Digest(sha256: SHA256.hash(data: bytes))
        var tag: String?
        if reference.contains(":") {
            let named = try Self.digest(reference)
            guard named == digest else {
                throw RegistryError(.digestInvalid, "manifest hashes to \(digest), not \(named)")
            }
        } else {
            guard Reference.isValidTag(reference) else {
                throw RegistryError(.manifestInvalid, "invalid tag \"\(reference)\": 1 to 128 of [A-Za-z0-9_.-]")
            }
            tag = reference
        }
        let parsed: ParsedManifest
        do {
            parsed = try ParsedManifest(bytes: bytes, contentType: request.headers[.contentType])
        } catch {
            throw RegistryError(.manifestInvalid, error.message)
        }
        for blob in parsed.blobs {
            guard let size = blobs.size(of: blob.digest) else {
                throw RegistryError(
                    .manifestBlobUnknown, "manifest refers to blob \(blob.digest), which was not pushed")
            }
            guard size == blob.size else {
                throw RegistryError(
                    .manifestInvalid, "manifest declares blob \(blob.digest) as \(blob.size) bytes, but it has \(size)")
            }
        }
        for child in parsed.children where !blobs.contains(child.digest) {
            throw RegistryError(.manifestBlobUnknown, "index refers to manifest \(child.digest), which was not pushed")
        }
        do {
            try blobs.put(bytes, expected: digest)
        } catch {
            throw RegistryError(
                .manifestInvalid, "cannot store manifest: \(error.message)", status: .internalServerError)
        }
        let row = ManifestRow(
            repository: repository, digest: digest.description, mediaType: parsed.mediaType, size: Int64(bytes.count),
            artifactType: parsed.artifactType, subject: parsed.subject?.digest.description,
            annotations: parsed.annotations)
        try await store.putManifest(
            row, tag: tag, imageSize: Int64(bytes.count) + parsed.blobs.reduce(0) { $0 + $1.size })
        prefetcher?.enqueue(parsed.layers)
        var headers: HTTPFields = [
            .location: "/v2/\(repository)/manifests/\(digest)", Self.contentDigest: digest.description,
            .contentLength: "0",
        ]
        if let subject = parsed.subject { headers[Self.ociSubject] = subject.digest.description }
        return Response(status: .created, headers: headers)
    }

    private func deleteManifest(_ repository: String, _ reference: String) async throws -> Response {
        if reference.contains(":") {
            let digest = try Self.digest(reference)
            guard try await store.deleteManifest(repository: repository, digest: digest.description) else {
                throw RegistryError(.manifestUnknown, "manifest \(digest) is unknown in \(repository)")
            }
        } else {
            guard try await store.deleteTag(repository: repository, tag: reference) else {
                throw RegistryError(.manifestUnknown, "tag \(reference) is unknown in \(repository)")
            }
        }
        return Response(status: .accepted)
    }

    // MARK: Discovery

    private func listTags(_ repository: String, _ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var limit: Int?
        if let n = query["n"] {
            guard let value = Int(String(n)), value >= 0 else {
                throw RegistryError(.unsupported, "n must be a non-negative integer", status: .badRequest)
            }
            limit = value
        }
        let last = query["last"].map(String.init)
        let exists = try await store.repositoryExists(repository)
        let tags = limit == 0 ? [] : try await store.tags(repository: repository, after: last, limit: limit)
        let tagged = try await !store.tags(repository: repository, limit: 1).isEmpty
        guard exists || tagged else {
            throw RegistryError(.nameUnknown, "repository \(repository) is unknown")
        }
        struct Body: Encodable {
            var name: String
            var tags: [String]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var response = Self.json(
            try encoder.encode(Body(name: repository, tags: tags)), contentType: "application/json")
        if let limit, limit > 0, tags.count == limit, let lastTag = tags.last {
            let more = try await store.tags(repository: repository, after: lastTag, limit: 1)
            if !more.isEmpty {
                response.headers[Self.link] = "</v2/\(repository)/tags/list?n=\(limit)&last=\(lastTag)>; rel=\"next\""
            }
        }
        return response
    }

    private func listReferrers(_ repository: String, _ text: String, _ request: Request) async throws -> Response {
        let digest = try Self.digest(text)
        let artifactType = request.uri.queryParameters["artifactType"].map(String.init)
        let rows = try await store.referrers(
            repository: repository, subject: digest.description, artifactType: artifactType)
        var manifests: [Descriptor] = []
        for row in rows {
            guard let rowDigest = try? Digest(row.digest) else { continue }
            var descriptor = Descriptor(mediaType: row.mediaType, digest: rowDigest, size: row.size)
            descriptor.artifactType = row.artifactType
            descriptor.annotations = row.annotations
            manifests.append(descriptor)
        }
        let index = Index(manifests: manifests)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var response = Self.json(try encoder.encode(index), contentType: MediaType.imageIndex)
        if artifactType != nil { response.headers[Self.ociFiltersApplied] = "artifactType" }
        return response
    }

    // MARK: Helpers

    /// Blobs are read from disk in 1 MiB chunks: layers are large and read once, start to end.
    static let readChunk = 1 << 20

    static let apiVersion = HTTPField.Name("Docker-Distribution-API-Version")!
    static let contentDigest = HTTPField.Name("Docker-Content-Digest")!
    static let uploadUUID = HTTPField.Name("Docker-Upload-UUID")!
    static let ociSubject = HTTPField.Name("OCI-Subject")!
    static let ociFiltersApplied = HTTPField.Name("OCI-Filters-Applied")!
    static let link = HTTPField.Name("Link")!

    /// SIZE_INVALID with 413, as this registry answers an oversized manifest: the spec names
    /// no code for a blob over a registry's limit, and 413 tells clients not to retry as is.
    static func blobTooLarge(declared: Int64?, limit: Int64) -> RegistryError {
        let size = declared.map { "of \($0) bytes " } ?? ""
        return RegistryError(
            .sizeInvalid,
            "blob \(size)is larger than this registry's per-blob limit of \(limit) bytes "
                + "(skiff server --max-layer-size); the upload was discarded",
            status: .contentTooLarge)
    }

    static func digest(_ text: String) throws(RegistryError) -> Digest {
        do {
            return try Digest(text)
        } catch {
            throw RegistryError(.digestInvalid, "invalid digest \"\(text)\": \(error.message)")
        }
    }

    static func json(_ data: Data, contentType: String, head: Bool = false) -> Response {
        let headers: HTTPFields = [.contentType: contentType, .contentLength: String(data.count)]
        if head { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func uploadHeaders(_ repository: String, _ id: String, _ offset: Int64) -> HTTPFields {
        [
            .location: "/v2/\(repository)/blobs/uploads/\(id)", .range: UploadSessions.rangeHeader(offset),
            uploadUUID: id, .contentLength: "0",
        ]
    }

    static func blobCreated(_ repository: String, _ digest: Digest) -> Response {
        Response(
            status: .created,
            headers: [
                .location: "/v2/\(repository)/blobs/\(digest)", contentDigest: digest.description, .contentLength: "0",
            ])
    }

    /// `bytes=A-B`, `bytes=A-` or `bytes=-N` within a blob of `size` bytes.
    static func byteRange(_ header: String, size: Int64) -> ClosedRange<Int64>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst("bytes=".count)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let count = Int64(last), count > 0 else { return nil }
            return max(0, size - count)...(size - 1)
        }
        guard let start = Int64(first), start >= 0, start < size else { return nil }
        if last.isEmpty { return start...(size - 1) }
        guard let end = Int64(last), end >= start else { return nil }
        return start...min(end, size - 1)
    }

    /// An upload chunk's `Content-Range: START-END` (the spec's form, without `bytes `).
    static func uploadRange(_ header: String) -> ClosedRange<Int64>? {
        var text = Substring(header)
        if text.hasPrefix("bytes ") { text = text.dropFirst("bytes ".count) }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int64(parts[0]), let end = Int64(parts[1]), start >= 0, end >= start else {
            return nil
        }
        return start...end
    }
}
