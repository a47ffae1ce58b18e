import Foundation
public import Hummingbird
public import SkiffController
import SkiffModel
public import SkiffRegistry

/// An error as the API returns it: a status and `{"error":{"code","message"}}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }
    public static func invalid(_ message: String) -> APIError { APIError(.badRequest, code: "invalid_argument", message) }
    public static func unauthorized(_ message: String) -> APIError {
        var error = APIError(.unauthorized, code: "unauthorized", message)
        error.headers[.wwwAuthenticate] = "Bearer realm=\"skiff\""
        return error
    }

    /// Maps a controller error to its HTTP meaning; this is the only place that does.
    public init(_ error: ControllerError) {
        switch error.code {
        case .notFound: self.init(.notFound, code: "not_found", error.message)
        case .invalidArgument: self.init(.badRequest, code: "invalid_argument", error.message)
        case .conflict: self.init(.conflict, code: "conflict", error.message)
        case .unavailable: self.init(.serviceUnavailable, code: "unavailable", error.message)
        default: self.init(.internalServerError, code: "internal", error.message)
        }
    }

    /// Maps an image load or resolution error to its HTTP meaning, as a controller error with
    /// the same code would be.
    public init(_ error: ImageError) {
        switch error.code {
        case .notFound: self.init(.notFound, code: "not_found", error.message)
        case .invalidArgument: self.init(.badRequest, code: "invalid_argument", error.message)
        default: self.init(.internalServerError, code: "internal", error.message)
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(APIErrorBody(code: code, message: message), status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}
