import Artifacts
import Foundation

/// A one-line reason why the report cannot show a number ("no dataset /fine/random/agreement").
struct ReportMissing: Error, CustomStringConvertible {
    var description: String
}

/// Defensive reading of an artifact for the report: every accessor throws a `ReportMissing` that names
/// the dataset or attribute, and `row`/`rows`/`claim` turn such an error into a row or an undecided claim that says
/// what is missing, so one incomplete artifact never stops the report.
struct ReportReader {
    let file: HDF5File

    /// A dataset of any numeric type (float32/64, int32/64, uint8) as Doubles, with its shape.
    func numbers(_ path: String) throws -> (values: [Double], shape: [Int]) {
        guard try file.root.contains(path) else { throw ReportMissing(description: "no dataset /\(path)") }
        let d = try file.root.dataset(path)
        let shape = try d.shape
        switch try d.elementTypeName {
        case "float64": return (try d.read(as: Double.self), shape)
        case "float32": return (try d.read(as: Float.self).map(Double.init), shape)
        case "int32": return (try d.read(as: Int32.self).map(Double.init), shape)
        case "int64": return (try d.read(as: Int64.self).map(Double.init), shape)
        case "uint8": return (try d.read(as: UInt8.self).map(Double.init), shape)
        case let other: throw ReportMissing(description: "/\(path) stores \(other), not numbers")
        }
    }

    /// A dataset as a flat vector.
    func vector(_ path: String) throws -> [Double] { try numbers(path).values }

    /// A dataset of `rank` axes; throws when its rank differs.
    func array(_ path: String, rank: Int) throws -> (values: [Double], shape: [Int]) {
        let a = try numbers(path)
        guard a.shape.count == rank else {
            throw ReportMissing(description: "/\(path) has shape \(a.shape), expected \(rank) axes")
        }
        return a
    }

    /// The group (or, with `dataset`, the dataset) at `path`; "" is the root.
    func object(_ path: String, dataset: Bool = false) throws -> HDF5Object {
        if path.isEmpty { return try file.root }
        guard try file.root.contains(path) else {
            throw ReportMissing(description: "no \(dataset ? "dataset" : "group") /\(path)")
        }
        return dataset ? try file.root.dataset(path) : try file.root.group(path)
    }

    /// The owner of attribute `name` at `path` (root by default), checked for presence first.
    private func attributeOwner(_ name: String, of path: String, dataset: Bool = false) throws -> HDF5Object {
        let o = try object(path, dataset: dataset)
        guard o.hasAttribute(name) else { throw ReportMissing(description: "no attribute '\(name)' on /\(path)") }
        return o
    }

    func double(_ name: String, of path: String = "", dataset: Bool = false) throws -> Double {
        try attributeOwner(name, of: path, dataset: dataset).doubleAttribute(name)
    }
    func int(_ name: String, of path: String = "", dataset: Bool = false) throws -> Int {
        try attributeOwner(name, of: path, dataset: dataset).intAttribute(name)
    }
    func ints(_ name: String, of path: String = "", dataset: Bool = false) throws -> [Int] {
        try attributeOwner(name, of: path, dataset: dataset).intArrayAttribute(name)
    }
    func string(_ name: String, of path: String = "", dataset: Bool = false) throws -> String {
        try attributeOwner(name, of: path, dataset: dataset).stringAttribute(name)
    }
    func json<T: Decodable>(_ name: String, of path: String = "", dataset: Bool = false, as type: T.Type) throws -> T {
        try attributeOwner(name, of: path, dataset: dataset).jsonAttribute(name, as: T.self)
    }
}

/// Building rows and claims so that a missing number becomes a visible "missing" row or an undecided claim.
enum ReportRows {
    /// One row; when `value` throws, the row says what is missing.
    static func row(_ label: String, _ value: () throws -> String) -> (String, String) {
        do { return (label, try value()) } catch { return (label, "missing: \(error)") }
    }

    /// Several rows from one computation; when it throws, one row under `label` says what is missing.
    static func rows(_ label: String, _ body: () throws -> [(String, String)]) -> [(String, String)] {
        do { return try body() } catch { return [(label, "missing: \(error)")] }
    }

    /// A claim; when deciding it throws, the claim is undecided and the evidence says why.
    static func claim(_ statement: String, _ decide: () throws -> (holds: Bool?, evidence: String)) -> Claim {
        do {
            let d = try decide()
            return Claim(statement: statement, holds: d.holds, evidence: d.evidence)
        } catch {
            return Claim(statement: statement, holds: nil, evidence: "cannot decide: \(error)")
        }
    }
}

/// Small statistics and number formats for report rows.
enum ReportStats {
    /// Mean and sample standard deviation (n − 1; 0 for one value) of the finite values; NaN when there are none.
    static func meanStd(_ values: [Double]) -> (mean: Double, std: Double) {
        let v = values.filter { $0.isFinite }
        guard !v.isEmpty else { return (.nan, .nan) }
        let m = v.reduce(0, +) / Double(v.count)
        guard v.count > 1 else { return (m, 0) }
        return (m, (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot())
    }

    static func mean(_ values: [Double]) -> Double { meanStd(values).mean }

    /// Median of the finite values (NaN when there are none).
    static func median(_ values: [Double]) -> Double {
        let v = values.filter { $0.isFinite }.sorted()
        guard !v.isEmpty else { return .nan }
        return v.count % 2 == 1 ? v[v.count / 2] : 0.5 * (v[v.count / 2 - 1] + v[v.count / 2])
    }

    /// Least-squares slope of log y against log x (the observed order of convergence); nil with fewer than two
    /// usable points (positive x and y).
    static func logLogSlope(x: [Double], y: [Double]) -> Double? {
        let pairs = zip(x, y).filter { $0.0 > 0 && $0.1 > 0 && $0.1.isFinite }.map { (log($0.0), log($0.1)) }
        guard Set(pairs.map(\.0)).count >= 2 else { return nil }
        let mx = pairs.map(\.0).reduce(0, +) / Double(pairs.count),
            my = pairs.map(\.1).reduce(0, +) / Double(pairs.count)
        var sxy = 0.0, sxx = 0.0
        for (a, b) in pairs { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx) }
        return sxy / sxx
    }

    /// "0.952 ± 0.021" with `digits` decimals.
    static func pm(_ values: [Double], digits: Int = 3) -> String {
        let s = meanStd(values)
        return String(format: "%.\(digits)f ± %.\(digits)f", s.mean, s.std)
    }

    /// "1.23e-03 ± 4.0e-04" for small quantities (KL, errors).
    static func pmSci(_ values: [Double]) -> String {
        let s = meanStd(values)
        return String(format: "%.3g ± %.2g", s.mean, s.std)
    }
}
