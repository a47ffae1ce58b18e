public import Hummingbird
public import SkiffController
public import SkiffStore

/// The control-plane HTTP API (`/v1`), documented in docs/api.md.
public struct ControlPlaneAPI: Sendable {
    public let controller: Controller
    public let store: Store
    public let loader: ImageLoader
    public let uploadDirectory: String
    public let logFile: @Sendable (String) -> String
    public let version: String

    public init(
        controller: Controller, store: Store, loader: ImageLoader, uploadDirectory: String,
        logFile: @escaping @Sendable (String) -> String, version: String
    ) {
        self.controller = controller
        self.store = store
        self.loader = loader
        self.uploadDirectory = uploadDirectory
        self.logFile = logFile
        self.version = version
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let version = self.version
        router.get("/v1/health") { _, _ in
            JSONResponse.make(["status": "ok", "version": version])
        }
        let v1 = router.group("/v1").add(middleware: TokenAuthenticator(store: store))
        ServiceRoutes(controller: controller).register(on: v1)
        ImageRoutes(store: store, loader: loader, uploadDirectory: uploadDirectory).register(on: v1)
        LogRoutes(controller: controller, logFile: logFile).register(on: v1)
        return router
    }
}
