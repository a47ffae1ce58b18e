public import Hummingbird
public import SkiffController
import SkiffModel
public import SkiffRegistry
public import SkiffStore

/// The control-plane HTTP API (`/v1`), documented in docs/api.md.
public struct ControlPlaneAPI: Sendable {
    public let controller: Controller
    public let store: Store
    public let loader: ImageLoader
    public let uploadDirectory: String
    public let logFile: @Sendable (String) -> String
    public let version: String
    /// The OCI registry served under `/v2/`, when the server has one.
    public let registry: Registry?
    /// The Prometheus text exposition served at `/metrics`, when the server keeps metrics.
    public let metrics: (@Sendable () async -> String)?

    public init(
        controller: Controller, store: Store, loader: ImageLoader, uploadDirectory: String,
        logFile: @escaping @Sendable (String) -> String, version: String, registry: Registry? = nil,
        metrics: (@Sendable () async -> String)? = nil
    ) {
        self.registry = registry
        self.metrics = metrics
        self.controller = controller
        self.store = store
        self.loader = loader
        self.uploadDirectory = uploadDirectory
        self.logFile = logFile
        self.version = version
    }

    public func router() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        let version = self.version
        router.get("/v1/health") { _, _ in
            JSONResponse.make(["status": "ok", "version": version])
        }
        if let metrics {
            // Unauthenticated, as Prometheus scrapes it; the API listens on loopback by default
            // and instances cannot reach it. Counts and timings only: no secrets, no payloads.
            router.get("/metrics") { _, _ in
                let text = await metrics()
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
            }
        }
        let v1 = router.group("/v1").add(middleware: TokenAuthenticator(store: store)).add(middleware: AdminOnly())
        ServiceRoutes(controller: controller).register(on: v1)
        RevisionRoutes(controller: controller).register(on: v1)
        ImageRoutes(
            store: store, loader: loader, uploadDirectory: uploadDirectory, collector: registry?.garbageCollector
        ).register(on: v1)
        LogRoutes(controller: controller, logFile: logFile).register(on: v1)
        TokenRoutes(store: store).register(on: v1)
        RegistryCredentialRoutes(store: store).register(on: v1)
        // The registry authenticates by itself: registry clients expect the spec's errors
        // and a Basic challenge, not this API's.
        registry?.register(on: router)
        return router
    }
}
