import Foundation

/// One measured figure. A child process prints each row as one `@@row <json>` line on standard output; the parent
/// collects them and prints the table.
struct Row: Codable {
    var workload: String
    var metric: String
    var value: Double
    var unit: String
    /// The original PyTorch figure on this machine kind (results/reference/README.md), where one exists.
    var original: Double?
    /// Our target (results/reference/README.md), where one exists.
    var target: Double?
    /// True for times and memory (smaller is better), false for throughputs and efficiencies.
    var lowerIsBetter: Bool
    var note: String?

    init(
        _ workload: String, _ metric: String, _ value: Double, _ unit: String, original: Double? = nil,
        target: Double? = nil, lowerIsBetter: Bool = false, note: String? = nil
    ) {
        self.workload = workload; self.metric = metric; self.value = value; self.unit = unit
        self.original = original; self.target = target; self.lowerIsBetter = lowerIsBetter; self.note = note
    }

    /// How many times better than the original (> 1 = faster / smaller).
    var versusOriginal: Double? {
        guard let o = original, value > 0, o > 0 else { return nil }
        return lowerIsBetter ? o / value : value / o
    }

    /// Measured against the target, oriented so that ≥ 1 means the target is met.
    var versusTarget: Double? {
        guard let t = target, value > 0, t > 0 else { return nil }
        return lowerIsBetter ? t / value : value / t
    }
}

enum Report {
    static let rowPrefix = "@@row "

    /// Emits a row from a child process.
    static func emit(_ row: Row) {
        let data = try! JSONEncoder().encode(row)
        print(rowPrefix + String(decoding: data, as: UTF8.self))
        fflush(stdout)
    }

    static func parse(_ line: Substring) -> Row? {
        guard line.hasPrefix(rowPrefix) else { return nil }
        return try? JSONDecoder().decode(Row.self, from: Data(line.dropFirst(rowPrefix.count).utf8))
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1000 { return String(format: "%.0f", v) }
        if a >= 100 { return String(format: "%.1f", v) }
        if a >= 1 { return String(format: "%.2f", v) }
        if a >= 0.01 { return String(format: "%.4f", v) }
        return String(format: "%.3g", v)
    }

    /// The side-by-side table: measured value, unit, original, target, ratio to the original and to the target.
    static func table(_ rows: [Row]) -> String {
        let header = ["workload", "metric", "measured", "unit", "original", "target", "×orig", "×target", "note"]
        var cells: [[String]] = [header]
        for r in rows {
            let vo = r.versusOriginal.map { String(format: "%.2f", $0) } ?? "—"
            let vt = r.versusTarget.map { String(format: "%.2f%@", $0, $0 >= 1 ? " ok" : " !") } ?? "—"
            cells.append([
                r.workload, r.metric, format(r.value), r.unit,
                r.original.map(format) ?? "—", r.target.map { (r.lowerIsBetter ? "≤ " : "≥ ") + format($0) } ?? "—",
                vo, vt, r.note ?? "",
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        let numeric: Set<Int> = [2, 4, 5, 6, 7]
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == row.count - 1 ? c : (numeric.contains(i) ? pad + c : c + pad)
            }.joined(separator: "  ")
        }
        var out = [
            line(cells[0]), String(repeating: "-", count: widths.dropLast().reduce(0, +) + 2 * (widths.count - 1) + 4),
        ]
        var last = ""
        for row in cells.dropFirst() {
            if row[0] != last && !last.isEmpty { out.append("") }
            last = row[0]
            out.append(line(row))
        }
        return out.joined(separator: "\n")
    }
}

/// Wall-clock time and process figures.
enum Clock {
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// Seconds taken by `body`.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let t0 = now()
        try body()
        return now() - t0
    }

    /// Best (smallest) time of `repeats` runs of `body`.
    static func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<max(1, repeats) { best = min(best, try time(body)) }
        return best
    }

    /// Peak resident set size of this process in bytes (getrusage ru_maxrss, KiB on Linux).
    static func peakRSSBytes() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) * 1024
    }

    /// The 1-minute load average, for labelling contended measurements.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
