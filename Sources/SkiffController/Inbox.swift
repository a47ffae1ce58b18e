/// An `AsyncStream` with the continuation that feeds it: one loop of the controller reads the
/// messages, anything (the actor, a supervisor, the signal path) may post one.
struct Inbox<Message: Sendable>: Sendable {
    let messages: AsyncStream<Message>
    private let continuation: AsyncStream<Message>.Continuation

    init(bufferingPolicy: AsyncStream<Message>.Continuation.BufferingPolicy = .unbounded) {
        (messages, continuation) = AsyncStream.makeStream(bufferingPolicy: bufferingPolicy)
    }

    func post(_ message: Message) { continuation.yield(message) }

    /// Ends the stream: its reader sees the end once the messages already posted are read.
    func close() { continuation.finish() }
}
