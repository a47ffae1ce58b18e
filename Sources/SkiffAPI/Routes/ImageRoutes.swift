import Foundation
import Hummingbird
import SkiffController
import SkiffModel
import SkiffStore

/// `/v1/images`: list images and load OCI image layouts sent as tar streams.
struct ImageRoutes {
    let store: Store
    let loader: ImageLoader
    let uploadDirectory: String

    func register(on group: RouterGroup<BasicRequestContext>) {
        group.get("images") { _, _ in
            JSONResponse.make(try await store.images())
        }
        group.post("images/load") { request, context in
            let ref = request.uri.queryParameters["ref"].map(String.init)
            let tag = request.uri.queryParameters["tag"].map(String.init)
            // The archive is spooled to disk first: it can be GiBs, and the importer reads it
            // sequentially with blocking I/O on a thread pool.
            let upload = try await UploadFile.receive(request.body, into: uploadDirectory)
            defer { upload.remove() }
            return try await call { () throws(ControllerError) in
                let result = try await loader.load(archiveAt: upload.path, ref: ref, tag: tag)
                return JSONResponse.make(result, status: .created)
            }
        }
    }
}
