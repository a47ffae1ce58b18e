/// A failure of the end-to-end harness or of a test's wait, described for the test log.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
