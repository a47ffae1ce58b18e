public import ArgumentParser
public struct SkiffCommand: AsyncParsableCommand {
    public init() {}
    public func run() async throws {}
}
