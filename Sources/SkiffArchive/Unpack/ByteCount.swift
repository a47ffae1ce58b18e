/// Sizes as limit errors print them: `64 MiB (67108864 bytes)`, so a person can compare them
/// with the flag they set and a script can still read the exact number.
enum ByteCount {
    static func describe(_ bytes: Int64) -> String {
        "\(approximate(bytes)) (\(bytes) bytes)"
    }

    /// The largest binary unit that keeps the number at least 1, with one decimal unless whole.
    static func approximate(_ bytes: Int64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) bytes" }
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int64(rounded)) \(units[unit])" : "\(rounded) \(units[unit])"
    }
}
