/// RFC 1035 label characters: what service names, revision names and tags are made of,
/// since each ends up in a host name (`TAG---NAME.DOMAIN`).
public enum DNSLabel {
    /// Only lowercase letters, digits and `-`.
    public static func hasOnlyLabelCharacters(_ text: some StringProtocol) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}
