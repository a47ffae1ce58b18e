import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SkiffModel
import SkiffRuntime

/// Runs single checks of probes against an instance: a TCP connect, an HTTP GET, or a
/// command inside the container.
struct HealthChecker: Sendable {
    enum Outcome: Sendable, Hashable {
        case passed
        case failed(String)

        var passed: Bool { self == .passed }
    }

    let tcp: TCPReadinessProbe
    let runtime: any ContainerRuntime

    /// Redirects are not followed (Kubernetes counts a 3xx as success without following
    /// it elsewhere), and probes never share connections with anything else.
    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(1)),
            connectionPool: .init(idleTimeout: .seconds(5))))

    /// One check of `action` against the instance at `host`; `port` is the container's port,
    /// used when the action names none.
    func check(_ action: Probe.Action, instanceID: String, host: String, port: Int, timeout: Duration) async -> Outcome
    {
        switch action {
        case .tcpSocket(let socket):
            let target = socket.port ?? port
            return await tcp.check(host: host, port: target, timeout: timeout)
                ? .passed : .failed("nothing accepted a connection on port \(target)")
        case .httpGet(let get):
            return await checkHTTP(get, host: host, port: get.port ?? port, timeout: timeout)
        case .exec(let exec):
            do {
                switch try await runtime.exec(instanceID: instanceID, command: exec.command, timeout: timeout) {
                case .exited(0, _):
                    return .passed
                case .exited(let code, let output):
                    let detail = output.split(separator: "\n").last.map { ": \($0.prefix(200))" } ?? ""
                    return .failed("\(exec.command.joined(separator: " ")) exited \(code)\(detail)")
                case .timedOut:
                    return .failed(
                        "\(exec.command.joined(separator: " ")) timed out after \(DurationText.format(timeout))")
                }
            } catch {
                return .failed("cannot run \(exec.command.joined(separator: " ")): \(error)")
            }
        }
    }

    private func checkHTTP(_ get: HTTPGetAction, host: String, port: Int, timeout: Duration) async -> Outcome {
        var request = HTTPClientRequest(url: "http://\(host):\(port)\(get.path)")
        request.headers.add(name: "User-Agent", value: "skiff-probe/1")
        for header in get.httpHeaders { request.headers.replaceOrAdd(name: header.name, value: header.value) }
        do {
            let response = try await Self.http.execute(
                request,
                timeout: .nanoseconds(
                    Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            // Drain a little of the body so the connection can be reused; the status decides.
            _ = try? await response.body.collect(upTo: 64 << 10)
            let code = Int(response.status.code)
            return (200..<400).contains(code) ? .passed : .failed("GET \(get.path) answered \(code)")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .failed("GET \(get.path) timed out after \(DurationText.format(timeout))")
        } catch {
            return .failed("GET \(get.path) failed: \(error)")
        }
    }
}
