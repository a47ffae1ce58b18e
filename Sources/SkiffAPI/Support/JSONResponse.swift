public import Foundation
public import Hummingbird

/// JSON in and out with the API's conventions: ISO 8601 dates, sorted keys (stable output).
public enum JSONResponse {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    public static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var body = ByteBuffer()
        body.writeBytes(data)
        body.writeString("\n")
        return Response(
            status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
    }

    /// Decodes a request body of at most `limit` bytes; a bad body is a 400 naming the problem.
    /// An empty body is `empty` when given (for requests whose every field is optional).
    public static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, limit: Int = 1 << 20, empty: T? = nil
    ) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, code: "payload_too_large", "request body is larger than \(limit) bytes")
        }
        if let empty, buffer.readableBytes == 0 { return empty }
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.dataCorrupted(context) {
            throw APIError.invalid("invalid JSON body: \(describe(context))")
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError.invalid("invalid JSON body: missing field \"\(path(context.codingPath + [key]))\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError.invalid("invalid JSON body: wrong type at \"\(path(context.codingPath))\"")
        } catch let DecodingError.valueNotFound(_, context) {
            throw APIError.invalid("invalid JSON body: null at \"\(path(context.codingPath))\"")
        } catch {
            throw APIError.invalid("invalid JSON body: \(error)")
        }
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        // Model validation (a bad quantity, name or digest) arrives as the underlying error.
        let detail = context.underlyingError.map { "\($0)" } ?? context.debugDescription
        return context.codingPath.isEmpty ? detail : "\(path(context.codingPath)): \(detail)"
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}
