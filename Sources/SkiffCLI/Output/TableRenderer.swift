/// Renders rows as columns aligned for a terminal: a header line in capitals, then one line
/// per row, columns separated by three spaces, trailing spaces trimmed.
///
/// Columns are measured in characters (not display cells): Skiff's values are ASCII
/// identifiers, addresses and times.
struct TableRenderer {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: [String]) {
        self.headers = headers
    }

    mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// Drops the columns whose cells are all empty in every row (e.g. MESSAGE when nothing failed).
    mutating func dropEmptyColumns(_ names: Set<String>) {
        let drop = headers.indices.filter { column in
            names.contains(headers[column]) && rows.allSatisfy { column >= $0.count || $0[column].isEmpty }
        }
        guard !drop.isEmpty else { return }
        headers = headers.indices.filter { !drop.contains($0) }.map { headers[$0] }
        rows = rows.map { row in row.indices.filter { !drop.contains($0) }.map { row[$0] } }
    }

    func render() -> String {
        let all = [headers] + rows
        var widths = [Int](repeating: 0, count: headers.count)
        for row in all {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        var out = ""
        for row in all {
            var line = ""
            for column in headers.indices {
                let cell = column < row.count ? row[column] : ""
                line += cell
                if column < headers.count - 1 {
                    line += String(repeating: " ", count: widths[column] - cell.count + 3)
                }
            }
            while line.last == " " { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
