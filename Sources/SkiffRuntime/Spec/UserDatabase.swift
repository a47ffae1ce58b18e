/// The users and groups of an image, parsed from its `/etc/passwd` and `/etc/group`, and the
/// OCI `User` resolution rules (`name`, `uid`, `name:group`, `uid:gid`, mixed forms).
///
/// Numeric ids need no files; names must be found. A numeric uid without a passwd entry runs
/// with gid 0, as Docker does.
public struct UserDatabase: Sendable, Hashable {
    /// A passwd entry.
    public struct User: Sendable, Hashable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32
        public var home: String
    }

    /// A group entry.
    public struct Group: Sendable, Hashable {
        public var name: String
        public var gid: UInt32
        public var members: [String]
    }

    /// Who the container process runs as.
    public struct Identity: Sendable, Hashable {
        public var uid: UInt32
        public var gid: UInt32
        /// Supplementary groups: those of /etc/group that list the user as a member.
        public var additionalGids: [UInt32]
        /// The user's home directory, `/` when unknown; becomes `HOME` unless the env sets it.
        public var home: String

        public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32] = [], home: String = "/") {
            self.uid = uid
            self.gid = gid
            self.additionalGids = additionalGids
            self.home = home
        }
    }

    public var users: [User]
    public var groups: [Group]

    /// Parses the files' contents; nil (file missing) means no entries. Malformed lines are skipped.
    public init(passwd: String?, group: String?) {
        users = (passwd ?? "").split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 4, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
            let home = fields.count >= 6 && !fields[5].isEmpty ? String(fields[5]) : "/"
            return User(name: String(fields[0]), uid: uid, gid: gid, home: home)
        }
        groups = (group ?? "").split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, let gid = UInt32(fields[2]) else { return nil }
            let members = fields.count >= 4 ? fields[3].split(separator: ",").map(String.init) : []
            return Group(name: String(fields[0]), gid: gid, members: members)
        }
    }

    /// Resolves an image's `User` value; nil or empty means root.
    public func resolve(_ value: String?) throws(RuntimeError) -> Identity {
        let value = value ?? ""
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts.first ?? ""
        let groupPart = parts.count > 1 ? parts[1] : nil

        let entry: User?
        let uid: UInt32
        if userPart.isEmpty {
            entry = users.first { $0.uid == 0 }
            uid = 0
        } else if let numeric = UInt32(userPart) {
            entry = users.first { $0.uid == numeric }
            uid = numeric
        } else {
            guard let named = users.first(where: { $0.name == userPart }) else {
                throw RuntimeError(
                    .unknownUser, "user `\(userPart)` (image User `\(value)`) is not in the image's /etc/passwd")
            }
            entry = named
            uid = named.uid
        }

        var gid = entry?.gid ?? 0
        if let groupPart, !groupPart.isEmpty {
            if let numeric = UInt32(groupPart) {
                gid = numeric
            } else if let group = groups.first(where: { $0.name == groupPart }) {
                gid = group.gid
            } else {
                throw RuntimeError(
                    .unknownUser, "group `\(groupPart)` (image User `\(value)`) is not in the image's /etc/group")
            }
        }

        // An explicit group replaces supplementary groups, as in Docker.
        var additional: [UInt32] = []
        if groupPart == nil, let name = entry?.name {
            for group in groups
            where group.members.contains(name) && group.gid != gid && !additional.contains(group.gid) {
                additional.append(group.gid)
            }
        }
        return Identity(uid: uid, gid: gid, additionalGids: additional, home: entry?.home ?? "/")
    }
}
