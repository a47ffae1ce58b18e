import Foundation
import HTTPTypes
public import Hummingbird
public import SkiffErrors

/// An error in the form the OCI distribution spec defines:
/// `{"errors":[{"code","message","detail"}]}` with the spec's status code for each code.
///
/// The response body carries `code` and `message` only; the cause, like the rest of
/// ``description``, is for the server's own logs.
public struct RegistryError: HTTPResponseError, SkiffError {
    public enum Code: String, Sendable, CustomStringConvertible {
        case blobUnknown = "BLOB_UNKNOWN"
        case blobUploadInvalid = "BLOB_UPLOAD_INVALID"
        case blobUploadUnknown = "BLOB_UPLOAD_UNKNOWN"
        case digestInvalid = "DIGEST_INVALID"
        case manifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
        case manifestInvalid = "MANIFEST_INVALID"
        case manifestUnknown = "MANIFEST_UNKNOWN"
        case nameInvalid = "NAME_INVALID"
        case nameUnknown = "NAME_UNKNOWN"
        case sizeInvalid = "SIZE_INVALID"
        case unauthorized = "UNAUTHORIZED"
        case denied = "DENIED"
        case unsupported = "UNSUPPORTED"
        case rangeInvalid = "RANGE_INVALID"

        /// The spec's name for the code, as the response body has it.
        public var description: String { rawValue }

        /// The status the spec (and docker-registry) answer each code with.
        var status: HTTPResponse.Status {
            switch self {
            case .blobUnknown, .blobUploadUnknown, .manifestUnknown, .nameUnknown: .notFound
            case .unauthorized: .unauthorized
            case .denied: .forbidden
            case .unsupported: .methodNotAllowed
            case .rangeInvalid: .rangeNotSatisfiable
            default: .badRequest
            }
        }
    }

    public var code: Code
    public var message: String
    public var status: HTTPResponse.Status
    public var headers: HTTPFields = [:]
    /// The underlying error, if any; never sent to the client.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, status: HTTPResponse.Status? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.status = status ?? code.status
        self.cause = cause
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorsBody(errors: [ErrorsBody.Entry(code: code.rawValue, message: message)])
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(data.count)
        if request.method == .head {
            return Response(status: status, headers: fields)
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

private struct ErrorsBody: Encodable {
    struct Entry: Encodable {
        var code: String
        var message: String
        var detail: [String: String]? = nil
    }
    var errors: [Entry]
}
