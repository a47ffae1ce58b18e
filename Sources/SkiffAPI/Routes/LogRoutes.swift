import Hummingbird
import NIOCore
import SkiffController
import SkiffModel
import SkiffRuntime

/// `GET /v1/services/NAME/logs`: the instances' stdout and stderr, each line prefixed with
/// the instance it came from; `follow=true` keeps streaming new lines, as `tail -f` does;
/// `ended=true` starts with the instances that no longer run but whose logs are kept.
/// Reading and following the files is the runtime's ``InstanceLogStream``; this maps it to HTTP.
struct LogRoutes {
    let controller: Controller
    /// Where the runtime writes an instance's output.
    let logFile: @Sendable (String) -> String

    func register(on group: RouterGroup<APIRequestContext>) {
        let controller = self.controller
        group.get("services/:name/logs") { request, context in
            let name = try serviceName(context)
            func isSet(_ parameter: Substring) -> Bool {
                ["1", "true", "yes"].contains(request.uri.queryParameters[parameter].map(String.init) ?? "")
            }
            let follow = isSet("follow")
            let ended = isSet("ended")
            let tail = request.uri.queryParameters["tail"].flatMap { Int(String($0)) }
            if let tail, tail < 0 { throw APIError.invalid("tail must be 0 or more") }
            // Fail with 404 before the stream starts when the service does not exist.
            _ = try await call { () throws(ControllerError) in
                _ = try await controller.service(name)
                return Response(status: .ok)
            }
            let stream = InstanceLogStream(logFile: logFile, tail: tail, follow: follow)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody { writer in
                    do {
                        try await request.body.consumeWithCancellationOnInboundClose { _ in
                            // Ended instances first, the longest gone first; then the running ones.
                            try await stream.run { first in
                                var ids = (try? await controller.instances(of: name).map(\.id)) ?? []
                                if first, ended { ids = ((try? await controller.endedInstances(of: name)) ?? []) + ids }
                                return ids
                            } write: { chunk in
                                try await writer.write(ByteBuffer(string: chunk))
                            }
                        }
                    } catch is CancellationError {
                        // The client left: end the body cleanly.
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
