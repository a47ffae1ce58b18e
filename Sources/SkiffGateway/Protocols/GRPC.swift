import NIOCore
import NIOHPACK
import NIOHTTP1

/// What the gateway knows of gRPC: how to tell a call, read its deadline, and answer it
/// with a status a gRPC client understands when the gateway itself must answer.
///
/// Everything else of gRPC is HTTP/2 with trailers, which the proxy forwards as any response.
enum GRPC {
    /// gRPC status codes the gateway answers with (the gRPC core's numbering).
    enum Status: Int {
        case deadlineExceeded = 4
        case internalError = 13
        case unavailable = 14
        case unimplemented = 12
    }

    /// A gRPC call: `content-type: application/grpc`, alone or with a `+codec` suffix.
    static func isRequest(_ headers: HPACKHeaders) -> Bool {
        guard let type = headers.first(name: "content-type"), type.utf8.count >= 16 else { return false }
        let prefix = type.utf8.prefix(16)
        guard String(decoding: prefix, as: UTF8.self).lowercased() == "application/grpc" else { return false }
        guard let next = type.utf8.dropFirst(16).first else { return true }
        return next == UInt8(ascii: "+") || next == UInt8(ascii: ";")
    }

    /// The call's `grpc-timeout` (at most 8 digits and a unit: H, M, S, m, u, n), if valid.
    static func timeout(_ headers: HPACKHeaders) -> TimeAmount? {
        guard let value = headers.first(name: "grpc-timeout") else { return nil }
        return Self.parseTimeout(value)
    }

    static func parseTimeout(_ value: String) -> TimeAmount? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 2, bytes.count <= 9, let unit = bytes.last else { return nil }
        var amount: Int64 = 0
        for byte in bytes.dropLast() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        switch unit {
        case UInt8(ascii: "H"): return .hours(amount)
        case UInt8(ascii: "M"): return .minutes(amount)
        case UInt8(ascii: "S"): return .seconds(amount)
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }

    /// The status a gRPC client should see for an answer the gateway gives itself, following
    /// gRPC's own mapping of HTTP statuses, except a timeout, which is the call's deadline.
    static func status(for http: HTTPResponseStatus) -> Status {
        switch http {
        case .gatewayTimeout: .deadlineExceeded
        case .notFound: .unimplemented
        case .tooManyRequests, .badGateway, .serviceUnavailable: .unavailable
        default: .internalError
        }
    }

    /// The trailers of the gateway's own answer to a call: `grpc-status` and `grpc-message`.
    ///
    /// Sent as trailers after a head with only a content type, not as a trailers-only head:
    /// the proxy carries every answer as an HTTP/1-shaped head, body and end, and gRPC
    /// clients read a status in a head that does not end the stream as no status at all.
    static func statusTrailers(for http: HTTPResponseStatus, _ message: String) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.add(name: "grpc-status", value: String(Self.status(for: http).rawValue))
        headers.add(name: "grpc-message", value: Self.percentEncoded(message.trimmingSuffix("\n")))
        return headers
    }

    /// The status fields of a trailers-only answer, moved out of `headers`; nil if it has none.
    static func takeStatus(from headers: inout HPACKHeaders) -> HPACKHeaders? {
        guard headers.contains(name: "grpc-status") else { return nil }
        var status = HPACKHeaders()
        for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
            for value in headers[name] { status.add(name: name, value: value) }
            headers.remove(name: name)
        }
        return status
    }

    /// Trailers with `extra` added; `extra` alone when there were none.
    static func merge(_ trailers: HPACKHeaders?, _ extra: HPACKHeaders?) -> HPACKHeaders? {
        guard let extra else { return trailers }
        guard var merged = trailers else { return extra }
        merged.add(contentsOf: extra)
        return merged
    }

    /// `grpc-message` is percent-encoded UTF-8: every byte outside printable ASCII, and `%`.
    static func percentEncoded(_ message: String) -> String {
        var out = ""
        for byte in message.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        self.hasSuffix(suffix) ? String(self.dropLast(suffix.count)) : self
    }
}
