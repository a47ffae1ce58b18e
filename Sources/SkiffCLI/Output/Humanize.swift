import Foundation

/// The short forms tables use for times, sizes and digests.
enum Humanize {
    /// `12s ago`, `3m ago`, `5h ago`, `4d ago`; `just now` for the last second or a clock ahead of ours.
    static func age(of date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        switch seconds {
        case ..<1: return "just now"
        case ..<60: return "\(seconds)s ago"
        case ..<3600: return "\(seconds / 60)m ago"
        case ..<86400: return "\(seconds / 3600)h ago"
        default: return "\(seconds / 86400)d ago"
        }
    }

    /// RFC 3339 in UTC, as the API writes it: `2026-11-26T20:00:00Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// Bytes in binary units with one decimal: `512 B`, `1.5 KiB`, `12.3 MiB`, `2.0 GiB`.
    static func size(_ bytes: Int64) -> String {
        guard bytes >= 1024 else { return "\(bytes) B" }
        var value = Double(bytes)
        for unit in ["KiB", "MiB", "GiB", "TiB"] {
            value /= 1024
            if value < 1024 || unit == "TiB" {
                return String(format: "%.1f %@", value, unit)
            }
        }
        return "\(bytes) B"
    }

    /// `sha256:` and the first 12 hex digits, as `docker images` shows IDs.
    static func shortDigest(_ digest: String) -> String {
        guard let colon = digest.firstIndex(of: ":") else { return String(digest.prefix(12)) }
        let hex = digest[digest.index(after: colon)...]
        return hex.count > 12 ? "\(digest[...colon])\(hex.prefix(12))…" : digest
    }
}
