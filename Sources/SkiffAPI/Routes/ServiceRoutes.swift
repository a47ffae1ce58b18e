import Hummingbird
import SkiffController
import SkiffModel

/// `/v1/services` and `/v1/instances`: deploy, read and delete services.
struct ServiceRoutes {
    let controller: Controller

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("services") { _, _ in
            JSONResponse.make(await controller.services())
        }
        group.get("services/:name") { _, context in
            let name = try serviceName(context)
            return try await call { () throws(ControllerError) in JSONResponse.make(try await controller.service(name))
            }
        }
        group.put("services/:name") { request, context in
            let name = try serviceName(context)
            let deploy = try await JSONResponse.decode(DeployRequest.self, from: request)
            return try await call { () throws(ControllerError) in
                let (service, created) = try await controller.deploy(
                    name: name, spec: deploy.spec, options: deploy.options)
                return JSONResponse.make(service, status: created ? .created : .ok)
            }
        }
        group.delete("services/:name") { _, context in
            let name = try serviceName(context)
            return try await call { () throws(ControllerError) in
                try await controller.delete(name: name)
                return Response(status: .noContent)
            }
        }
        group.put("services/:name/traffic") { request, context in
            let name = try serviceName(context)
            let traffic = try await JSONResponse.decode([TrafficTarget].self, from: request)
            return try await call { () throws(ControllerError) in
                JSONResponse.make(try await controller.setTraffic(of: name, to: traffic))
            }
        }
        group.post("services/:name/rollback") { request, context in
            let name = try serviceName(context)
            let body = try await JSONResponse.decode(RollbackRequest.self, from: request, empty: RollbackRequest())
            return try await call { () throws(ControllerError) in
                JSONResponse.make(try await controller.rollback(name, to: body.revision))
            }
        }
        group.get("services/:name/events") { request, context in
            let name = try serviceName(context)
            let revision = request.uri.queryParameters.get("revision")
            return try await call { () throws(ControllerError) in
                JSONResponse.make(try await controller.events(of: name, revision: revision))
            }
        }
        group.get("services/:name/instances") { _, context in
            let name = try serviceName(context)
            return try await call { () throws(ControllerError) in
                JSONResponse.make(try await controller.instances(of: name))
            }
        }
        group.get("instances") { _, _ in
            try await call { () throws(ControllerError) in JSONResponse.make(try await controller.instances()) }
        }
    }
}

/// The `:name` path parameter as a valid service name, or a 400 that says why not.
func serviceName(_ context: APIRequestContext) throws -> ServiceName {
    guard let raw = context.parameters.get("name") else { throw APIError.invalid("missing service name") }
    do {
        return try ServiceName(raw)
    } catch {
        throw APIError.invalid(error.message)
    }
}

/// Runs a controller call, turning its typed error into the API's.
func call(_ body: () async throws(ControllerError) -> Response) async throws -> Response {
    do {
        return try await body()
    } catch {
        throw APIError(error)
    }
}
