import Hummingbird
import SkiffController
import SkiffModel

/// `/v1/revisions`: list, read and delete revisions.
struct RevisionRoutes {
    let controller: Controller

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("revisions") { request, _ in
            let service = try request.uri.queryParameters.get("service").map(Self.serviceName)
            return try await call { () throws(ControllerError) in
                JSONResponse.make(try await controller.revisions(of: service))
            }
        }
        group.get("revisions/:revision") { _, context in
            let name = try revisionName(context)
            return try await call { () throws(ControllerError) in
                JSONResponse.make(try await controller.revision(named: name))
            }
        }
        group.delete("revisions/:revision") { _, context in
            let name = try revisionName(context)
            return try await call { () throws(ControllerError) in
                try await controller.deleteRevision(named: name)
                return Response(status: .noContent)
            }
        }
    }

    private static func serviceName(_ raw: String) throws -> ServiceName {
        do {
            return try ServiceName(raw)
        } catch {
            throw APIError.invalid(error.message)
        }
    }

    /// Revision names are DNS labels, like the service names they start with: `web-00002`.
    private func revisionName(_ context: APIRequestContext) throws -> String {
        let raw = context.parameters.get("revision") ?? ""
        guard (1...63).contains(raw.utf8.count), raw.first?.isLetter == true,
            DNSLabel.hasOnlyLabelCharacters(raw)
        else {
            throw APIError.invalid("invalid revision name \"\(raw)\": expected e.g. web-00001")
        }
        return raw
    }
}
