import Foundation
import Hummingbird
import SkiffModel
import SkiffOCI
import SkiffRegistry
import SkiffStore

/// `/v1/images`: list images and load OCI image layouts sent as tar streams.
struct ImageRoutes {
    let store: Store
    let loader: ImageLoader
    let uploadDirectory: String
    let collector: GarbageCollector?

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("images") { request, _ in
            var images = try await store.images()
            if let repository = request.uri.queryParameters["repository"] {
                images = images.filter { $0.name.hasPrefix(repository + ":") }
            }
            return JSONResponse.make(images)
        }
        // DELETE /v1/images?ref=REPOSITORY:TAG removes a tag; REPOSITORY@DIGEST removes the
        // manifest from the repository with all its tags. Blobs go at the next `gc`.
        group.delete("images") { request, _ in
            guard let text = request.uri.queryParameters["ref"].map(String.init) else {
                throw APIError.invalid("missing ref: use REPOSITORY:TAG or REPOSITORY@sha256:…")
            }
            let reference: Reference
            do throws(OCIError) {
                reference = try Reference(text)
            } catch {
                throw APIError.invalid(error.message)
            }
            guard reference.host == nil, let repository = reference.repository else {
                throw APIError.invalid(
                    "invalid ref \"\(text)\": use REPOSITORY:TAG or REPOSITORY@sha256:…, without a registry host")
            }
            if let digest = reference.digest {
                guard try await store.deleteManifest(repository: repository, digest: digest.description) else {
                    throw APIError.notFound("image \(text) not found")
                }
            } else {
                guard let tag = reference.tag, try await store.deleteTag(repository: repository, tag: tag) else {
                    throw APIError.notFound("image \(text) not found: give the tag, e.g. \(repository):v1")
                }
            }
            return JSONResponse.make(["deleted": text])
        }
        group.post("images/gc") { request, _ in
            guard let collector else {
                throw APIError(.notImplemented, code: "unsupported", "this server has no registry")
            }
            let dryRun = request.uri.queryParameters["dryRun"] == "true"
            return JSONResponse.make(try await collector.collect(dryRun: dryRun))
        }
        group.post("images/load") { request, context in
            let ref = request.uri.queryParameters["ref"].map(String.init)
            let tag = request.uri.queryParameters["tag"].map(String.init)
            // The archive is spooled to disk first: it can be GiBs, and the importer reads it
            // sequentially with blocking I/O on a thread pool.
            let upload = try await UploadFile.receive(request.body, into: uploadDirectory)
            defer { upload.remove() }
            do throws(ImageError) {
                let result = try await loader.load(archiveAt: upload.path, ref: ref, tag: tag)
                return JSONResponse.make(result, status: .created)
            } catch {
                throw APIError(error)
            }
        }
    }
}
