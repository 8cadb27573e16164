import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// docs/ARTIFACTS.md is checked against the writers' doc comments: each writer documents its layout as a table in the
/// doc comment that names its kind (`(kind "x")`), and the section of docs/ARTIFACTS.md whose heading names that kind
/// must hold exactly the same rows. (`QuickPipelineTests` checks the other link: what the writers really write is
/// named in docs/ARTIFACTS.md.)
final class ArtifactLayoutDocTests: XCTestCase {
    /// Table rows (`| … |` lines after a `| path |` header) per kind, from the doc comments under Sources/.
    static func sourceTables() throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        let sources = repositoryRoot + "/Sources"
        for file in FileManager.default.enumerator(atPath: sources)?.allObjects as? [String] ?? []
        where file.hasSuffix(".swift") {
            let lines = try String(contentsOfFile: sources + "/" + file, encoding: .utf8).components(separatedBy: "\n")
            var block: [String] = []
            for line in lines + [""] {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("///") {
                    block.append(String(trimmed.dropFirst(3)).trimmingCharacters(in: .whitespaces)); continue
                }
                if let kind = kindNamed(in: block.joined(separator: " ")) {
                    let rows = tableRows(block)
                    if !rows.isEmpty { tables[kind, default: []] += rows }
                }
                block = []
            }
        }
        return tables
    }

    /// `x` of the first `(kind "x")` in a doc comment.
    static func kindNamed(in text: String) -> String? {
        guard let start = text.range(of: "(kind \"") else { return nil }
        let rest = text[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    /// Rows of every `| path | …` table in `lines`, without the header and separator lines.
    static func tableRows(_ lines: [String]) -> [String] {
        var rows: [String] = [], inTable = false
        for line in lines {
            guard line.hasPrefix("|") else { inTable = false; continue }
            if line.hasPrefix("| path |") { inTable = true; continue }
            if inTable && !line.hasPrefix("|---") { rows.append(line) }
        }
        return rows
    }

    /// Sections of docs/ARTIFACTS.md (from one `## ` heading to the next) with the kinds their heading names.
    static func documentSections() throws -> [(kinds: [String], rows: [String], heading: String)] {
        let text = try String(contentsOfFile: repositoryRoot + "/docs/ARTIFACTS.md", encoding: .utf8)
        var sections: [(kinds: [String], rows: [String], heading: String)] = []
        var heading = "", body: [String] = []
        func close() {
            guard !heading.isEmpty else { return }
            // "(kind `x`, …)" or "(kinds `x`, `y`, …)": the back-quoted names before "producer".
            var kinds: [String] = []
            if let open = heading.range(of: "(kind") {
                let part = heading[open.upperBound...].components(separatedBy: "producer")[0]
                kinds = part.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            }
            sections.append((kinds, tableRows(body), heading))
        }
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("## ") { close(); heading = line; body = [] } else { body.append(line) }
        }
        close()
        return sections
    }

    func testEveryRegisteredKindDocumentsItsLayoutInItsWriter() throws {
        let tables = try Self.sourceTables()
        for kind in ArtifactKind.allCases {
            XCTAssertFalse(
                tables[kind.rawValue, default: []].isEmpty,
                "no '| path | shape | meaning |' table in a doc comment naming (kind \"\(kind.rawValue)\") under Sources/"
            )
        }
    }

    func testTheDocumentHoldsExactlyTheWritersTables() throws {
        let tables = try Self.sourceTables()
        let sections = try Self.documentSections()
        for kind in tables.keys.sorted() {
            let matching = sections.filter { $0.kinds.contains(kind) }
            XCTAssertEqual(
                matching.count, 1, "docs/ARTIFACTS.md: expected one section whose heading names kind `\(kind)`")
            guard let section = matching.first else { continue }
            let expected = section.kinds.flatMap { tables[$0] ?? [] }
            let missing = expected.filter { !section.rows.contains($0) }
            let extra = section.rows.filter { !expected.contains($0) }
            XCTAssertTrue(
                missing.isEmpty,
                "docs/ARTIFACTS.md \(section.heading): rows of the doc comment not in the document:\n"
                    + missing.joined(separator: "\n"))
            XCTAssertTrue(
                extra.isEmpty,
                "docs/ARTIFACTS.md \(section.heading): rows not in the writers' doc comments:\n"
                    + extra.joined(separator: "\n"))
        }
    }

    /// The parser itself: a doc comment's table is found under its kind, header and separator dropped.
    func testTheParserFindsKindAndRows() {
        let block = [
            "`x.h5` (kind \"demo\"):", "", "| path | shape | meaning |", "|---|---|---|", "| `/a` | (n) f64 | a |",
            "after",
        ]
        XCTAssertEqual(Self.kindNamed(in: block.joined(separator: " ")), "demo")
        XCTAssertEqual(Self.tableRows(block), ["| `/a` | (n) f64 | a |"])
    }
}
