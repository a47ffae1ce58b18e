public import Logging
public import ServiceLifecycle
public import SkiffOCI

/// Unpacks the layers of pushed images in the background, so a deploy of a pushed image
/// finds its snapshots ready instead of waiting for them.
///
/// A `Service` in the server's group: pushes enqueue and return at once; `run()` works the
/// queue one layer at a time (unpacking is disk-bound) until graceful shutdown.
public final class LayerPrefetcher: Service, Sendable {
    private let snapshots: SnapshotStore
    private let logger: Logger
    private let queue: AsyncStream<Descriptor>
    private let continuation: AsyncStream<Descriptor>.Continuation

    public init(snapshots: SnapshotStore, logger: Logger) {
        self.snapshots = snapshots
        self.logger = logger
        (queue, continuation) = AsyncStream.makeStream()
    }

    public func enqueue(_ layers: [Descriptor]) {
        for layer in layers { continuation.yield(layer) }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await layer in queue {
                do {
                    try await snapshots.prepare(layer)
                } catch {
                    // The deploy unpacks again and reports the failure where a user sees it.
                    logger.warning("cannot unpack pushed layer \(layer.digest): \(error)")
                }
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
    }
}
