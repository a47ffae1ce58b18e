/// A request method, from the list llhttp 9.3 accepts with `HTTP/1.x`.
///
/// llhttp (so NIO) refuses methods it does not know; this parser does the same rather than accept any token, so it is
/// never laxer than the parser it replaces. `PRI` is not here: it only starts the HTTP/2 preface.
public enum HTTP1Method: UInt8, CaseIterable, Hashable, Sendable {
    case get, head, post, put, delete, connect, options, trace, patch
    case copy, lock, mkcol, move, propfind, proppatch, search, unlock, bind, rebind, unbind, acl
    case report, mkactivity, checkout, merge, msearch, notify, subscribe, unsubscribe, purge, mkcalendar
    case link, unlink, source, query

    /// The method as it appears on the wire.
    public var name: StaticString {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .connect: "CONNECT"
        case .options: "OPTIONS"
        case .trace: "TRACE"
        case .patch: "PATCH"
        case .copy: "COPY"
        case .lock: "LOCK"
        case .mkcol: "MKCOL"
        case .move: "MOVE"
        case .propfind: "PROPFIND"
        case .proppatch: "PROPPATCH"
        case .search: "SEARCH"
        case .unlock: "UNLOCK"
        case .bind: "BIND"
        case .rebind: "REBIND"
        case .unbind: "UNBIND"
        case .acl: "ACL"
        case .report: "REPORT"
        case .mkactivity: "MKACTIVITY"
        case .checkout: "CHECKOUT"
        case .merge: "MERGE"
        case .msearch: "M-SEARCH"
        case .notify: "NOTIFY"
        case .subscribe: "SUBSCRIBE"
        case .unsubscribe: "UNSUBSCRIBE"
        case .purge: "PURGE"
        case .mkcalendar: "MKCALENDAR"
        case .link: "LINK"
        case .unlink: "UNLINK"
        case .source: "SOURCE"
        case .query: "QUERY"
        }
    }

    /// The method named by `bytes` exactly (case-sensitive, as RFC 9110 §9.1 says), or nil.
    init?(_ bytes: UnsafeRawBufferPointer) {
        // The two methods nearly every request uses, without a table walk.
        if bytes.count == 3, bytes[0] == UInt8(ascii: "G"), bytes[1] == UInt8(ascii: "E"),
            bytes[2] == UInt8(ascii: "T")
        {
            self = .get
            return
        }
        if bytes.count == 4, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "O"),
            bytes[2] == UInt8(ascii: "S"), bytes[3] == UInt8(ascii: "T")
        {
            self = .post
            return
        }
        for method in HTTP1Method.allCases where method.name.utf8CodeUnitCount == bytes.count {
            let name = method.name
            if name.withUTF8Buffer({ $0.elementsEqual(bytes) }) {
                self = method
                return
            }
        }
        return nil
    }
}

extension HTTP1Method: CustomStringConvertible {
    public var description: String { self.name.description }
}
