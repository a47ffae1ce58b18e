/// The one shape of every Skiff module's errors: a code to switch on, a message a person can
/// act on, and the error underneath.
///
/// Each module keeps its own error type (`ArchiveError`, `StoreError`, `ControllerError`…)
/// with its own extensible `Code`, so a caller catches what the module it calls throws; this
/// protocol makes them read alike. Conforming types get the one ``description`` below, so a
/// log line or a top-level error shows its cause the same way whichever module threw it.
/// Errors become HTTP statuses only at the edges that speak HTTP (SkiffAPI, SkiffRegistry).
public protocol SkiffError: Error, CustomStringConvertible, Sendable {
    /// A category of failure: extensible, compared with `==`; switch on it, never on `message`.
    associatedtype Code: Hashable & Sendable & CustomStringConvertible

    /// What went wrong, as a category.
    var code: Code { get }
    /// What went wrong, with the context a person needs to act on it: which layer, which
    /// instance, which file.
    var message: String { get }
    /// The error underneath (an `Errno`, the database's error, another module's error), if any.
    var cause: (any Error)? { get }
}

extension SkiffError {
    /// The message, then `: ` and the cause, saying nothing twice.
    ///
    /// Many messages already quote their cause (`"layer X rejected: \(error)"`, or
    /// `"cannot pull X: \(error.message)"`); the cause is added only where the message does
    /// not end with it. A message that ends with a Skiff cause's own message goes on with what
    /// lies beneath that cause, so `a: b` caused by `b` (caused by `c`) reads `a: b: c`.
    public var description: String { describing(message, causedBy: cause) }
}

/// `message` followed by whatever of `cause` it does not already end with.
private func describing(_ message: String, causedBy cause: (any Error)?) -> String {
    guard let cause else { return message }
    let causeText = String(describing: cause)
    if message.hasSuffix(causeText) { return message }
    if let cause = cause as? any SkiffError, message.hasSuffix(cause.message) {
        return describing(message, causedBy: cause.cause)
    }
    return message.isEmpty ? causeText : "\(message): \(causeText)"
}
