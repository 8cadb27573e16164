import Artifacts
import TestSupport
import XCTest

@testable import ExperimentKit

/// The base of the report tests: small artifacts written in a driver's documented layout, and lookups of rows and
/// claims in a summary.
class ReportTestCase: WorkspaceTestCase {

    /// Writes an artifact of `kind` whose contents `body` fills in; returns its path.
    func artifact(_ name: String, kind: String, _ body: (HDF5Group) throws -> Void) throws -> String {
        let path = directory + "/" + name + ".h5"
        try ArtifactFile.write(to: path, kind: kind, config: "{}", body)
        return path
    }

    /// A dataset at a nested path "a/b/c", creating the groups on the way.
    @discardableResult
    func put<T: HDF5Scalar>(_ root: HDF5Group, _ path: String, _ values: [T], _ shape: [Int]) throws -> HDF5Dataset {
        var parts = path.split(separator: "/").map(String.init)
        let name = parts.removeLast()
        var g = root
        for p in parts { g = try g.openOrCreateGroup(p) }
        return try g.write(name, values, shape: shape)
    }

    func value(_ s: ReportSummary, _ key: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard let v = s.rows.first(where: { $0.0 == key })?.1 else {
            XCTFail("no row '\(key)' in \(s.rows.map(\.0))", file: file, line: line)
            return ""
        }
        return v
    }

    func claim(_ s: ReportSummary, _ prefix: String, file: StaticString = #filePath, line: UInt = #line) -> Claim {
        guard let c = s.claims.first(where: { $0.statement.hasPrefix(prefix) }) else {
            XCTFail("no claim '\(prefix)…' in \(s.claims.map(\.statement))", file: file, line: line)
            return Claim(statement: "", holds: nil, evidence: "")
        }
        return c
    }
}
