import Foundation
public import Hummingbird
public import SkiffController
public import SkiffErrors
import SkiffModel
public import SkiffRegistry

/// An error as the API returns it: a status and `{"error":{"code","message"}}`.
///
/// The body carries `code` and `message` only; the cause (the controller's or the image
/// loader's error, with what lies beneath it) shows in ``description``, for the server's logs.
public struct APIError: HTTPResponseError, SkiffError {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields = [:]
    /// The error this one reports, if any; never sent to the client.
    public var cause: (any Error)?

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, cause: (any Error)? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.cause = cause
    }

    public static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }
    public static func invalid(_ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_argument", message)
    }
    public static func unauthorized(_ message: String) -> APIError {
        var error = APIError(.unauthorized, code: "unauthorized", message)
        error.headers[.wwwAuthenticate] = "Bearer realm=\"skiff\""
        return error
    }

    /// Maps a controller error to its HTTP meaning; this is the only place that does.
    public init(_ error: ControllerError) {
        switch error.code {
        case .notFound: self.init(.notFound, code: "not_found", error.message, cause: error)
        case .invalidArgument: self.init(.badRequest, code: "invalid_argument", error.message, cause: error)
        case .conflict: self.init(.conflict, code: "conflict", error.message, cause: error)
        case .unavailable: self.init(.serviceUnavailable, code: "unavailable", error.message, cause: error)
        case .insufficientStorage:
            self.init(Self.insufficientStorage, code: "insufficient_storage", error.message, cause: error)
        default: self.init(.internalServerError, code: "internal", error.message, cause: error)
        }
    }

    /// Maps an image load or resolution error to its HTTP meaning, as a controller error with
    /// the same code would be.
    public init(_ error: ImageError) {
        switch error.code {
        case .notFound: self.init(.notFound, code: "not_found", error.message, cause: error)
        case .invalidArgument: self.init(.badRequest, code: "invalid_argument", error.message, cause: error)
        case .insufficientStorage:
            self.init(Self.insufficientStorage, code: "insufficient_storage", error.message, cause: error)
        default: self.init(.internalServerError, code: "internal", error.message, cause: error)
        }
    }

    /// 507: the server cannot store what the request needs until its operator makes room.
    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(APIErrorBody(code: code, message: message), status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}
