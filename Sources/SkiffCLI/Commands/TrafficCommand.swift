import ArgumentParser
import SkiffModel

/// `skiff traffic`: shows or changes how a service's requests are split between revisions.
struct TrafficCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "Show or split a service's traffic between revisions, and tag revisions.",
        discussion: """
            Without options, shows where requests go. --to gives shares that sum to 100; \
            revisions not named get none. @latest follows the newest ready revision, so later \
            deploys move it. A tag gives a revision its own URL, TAG---NAME.DOMAIN, even at 0 %. \
            The gateway switches to the new split at once, for every request after it.

              skiff traffic web
              skiff traffic web --to web-00003=10 --to web-00002=90
              skiff traffic web --to-latest
              skiff traffic web --tag web-00003=canary --untag old
            """
    )

    @Argument(help: "The service name.")
    var name: String

    @Option(
        help: ArgumentHelp(
            "A revision's share in percent; repeat; the shares sum to 100.", valueName: "revision=percent"))
    var to: [String] = []

    @Flag(help: "Send all traffic to the latest ready revision (the same as --to @latest=100).")
    var toLatest = false

    @Option(help: ArgumentHelp("Give a revision its own URL; repeat for more.", valueName: "revision=tag"))
    var tag: [String] = []

    @Option(help: ArgumentHelp("Remove a tag and its URL; repeat for more.", valueName: "tag"))
    var untag: [String] = []

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        do throws(ModelError) {
            let service = try ServiceName(name)
            if toLatest, !to.isEmpty {
                throw ModelError(.invalidValue, field: "to", "give --to-latest or --to, not both")
            }
            let edit = try self.edit()
            for tagging in edit.tags { try TrafficTag.validate(tagging.tag, service: service) }
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// The flags as a change to the current traffic.
    func edit() throws(ModelError) -> TrafficEdit {
        var shares: [TrafficEdit.Share] = []
        for text in to {
            let (subject, value) = try Self.pair(text, flag: "to", example: "web-00002=90")
            guard let percent = Int(value.hasSuffix("%") ? String(value.dropLast()) : value),
                (0...100).contains(percent)
            else {
                throw ModelError(
                    .invalidValue, field: "to", "invalid --to \(text): the percent must be a whole number from 0 to 100"
                )
            }
            shares.append(TrafficEdit.Share(TrafficEdit.Subject(subject), percent))
        }
        if toLatest { shares = [TrafficEdit.Share(.latest, 100)] }
        var tags: [TrafficEdit.Tagging] = []
        for text in tag {
            let (subject, tag) = try Self.pair(text, flag: "tag", example: "web-00003=canary")
            tags.append(TrafficEdit.Tagging(TrafficEdit.Subject(subject), tag: tag))
        }
        return TrafficEdit(shares: shares, tags: tags, untags: untag)
    }

    private static func pair(_ text: String, flag: String, example: String) throws(ModelError) -> (String, String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex,
            text.index(after: equals) != text.endIndex
        else {
            throw ModelError(.invalidValue, field: flag, "invalid --\(flag) \(text): expected e.g. \(example)")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        let edit = try self.edit()
        let service = try await global.withClient { client in
            let current = try await client.service(name)
            guard !edit.isEmpty else { return current }
            let traffic: [TrafficTarget]
            do throws(ModelError) {
                traffic = try edit.applied(to: current.traffic)
                try traffic.validate(service: name)
            } catch {
                throw CLIError(.invalidInput, error.message)
            }
            return try await client.setTraffic(name, traffic)
        }
        Console.out(try global.output.encode(service) ?? Tables.traffic(service))
    }
}

/// `skiff rollback`: all traffic back to an earlier revision, at once.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Send all of a service's traffic back to an earlier ready revision.",
        discussion: """
            By default the newest ready revision older than the one taking most traffic now \
            gets 100 %; tags keep their URLs. The traffic then stays pinned to that revision \
            until the next deploy or 'skiff traffic --to-latest'.

              skiff rollback web
              skiff rollback web --to web-00002
            """
    )

    @Argument(help: "The service name.")
    var name: String

    @Option(help: ArgumentHelp("The revision to roll back to.", valueName: "revision"))
    var to: String?

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        try ServiceName.validateArgument(name)
    }

    func run() async throws {
        let name = try ServiceName.parse(name)
        let service = try await global.withClient { try await $0.rollback(name, to: to) }
        Console.out(try global.output.encode(service) ?? Tables.traffic(service))
    }
}
