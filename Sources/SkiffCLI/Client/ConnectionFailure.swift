import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Turns what AsyncHTTPClient and SwiftNIO throw into the one line a user needs, e.g.
/// "cannot reach the Skiff server at http://127.0.0.1:7070: connection refused (is `skiff server` running?)".
enum ConnectionFailure {
    static func describe(_ error: any Error, server: String) -> CLIError {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded:
                return CLIError(.unreachable, "the Skiff server at \(server) did not answer in time", cause: error)
            case .invalidURL, .emptyHost:
                return CLIError(
                    .invalidInput, "invalid server URL \(server): expected e.g. http://127.0.0.1:7070", cause: error)
            case .remoteConnectionClosed:
                return CLIError(.unreachable, "the Skiff server at \(server) closed the connection", cause: error)
            case .cancelled:
                return CLIError(.unreachable, "the request to \(server) was cancelled", cause: error)
            default:
                break
            }
        }
        guard let reason = connectReason(error) else {
            return CLIError(
                .unreachable, "the request to \(server) failed: \(oneLine(String(describing: error)))", cause: error)
        }
        return CLIError(
            .unreachable, "cannot reach the Skiff server at \(server): \(reason) (is `skiff server` running?)",
            cause: error)
    }

    /// Why a connection could not be made, or `nil` when `error` is not a connection failure.
    static func connectReason(_ error: any Error) -> String? {
        switch error {
        case let error as NIOConnectionError:
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve \(error.host)" }
            if let first = error.connectionErrors.first { return connectReason(first.error) ?? "\(first.error)" }
            return "cannot connect"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case let error as ChannelError:
            if case .connectTimeout = error { return "connection timed out" }
            return nil
        case let error as HTTPClientError where error == .connectTimeout:
            return "connection timed out"
        default:
            return nil
        }
    }
}
