import Artifacts
import Foundation

/// Every group and dataset path of `file` that docs/ARTIFACTS.md does not name. A path `a/b/c` counts as named when
/// the document has `a/b/c`, a placeholder under its parent (`a/b/<…>` or `a/b/…`), or a brace list under its parent
/// that holds its last name (`a/b/{x, c, y}`), or a backquoted pattern of as many segments whose placeholder segments
/// match any name with the same literal prefix and whose brace segments list it (`/models/member-<k>/<parameter name>`
/// names `models/member-0/fc1.weight` and the group `models/member-0`; a pattern's first segment must carry a literal
/// part, so a bare `<grid>` at the root does not name every top-level group).
/// The check that keeps the document in step with what the code writes.
public func undocumentedPaths(_ file: HDF5File) throws -> [String] {
    let document = try String(contentsOfFile: repositoryRoot + "/docs/ARTIFACTS.md", encoding: .utf8)
    let patterns: [[String]] = document.split(separator: "`", omittingEmptySubsequences: false).enumerated()
        .filter {
            $0.offset % 2 == 1 && ($0.element.contains("<") || $0.element.contains("{")) && $0.element.contains("/")
        }
        .map { $0.element.split(separator: "/").map(String.init) }
    /// A group is named when it is the start of a pattern (`models/member-0` of `/models/member-<k>/<name>`).
    func matches(_ pattern: [String], _ parts: [String]) -> Bool {
        guard pattern.count >= parts.count else { return false }
        return zip(pattern, parts).enumerated().allSatisfy { i, pair in
            let (p, part) = pair
            if p == part { return true }
            if p.hasPrefix("{") && p.hasSuffix("}") {
                return p.dropFirst().dropLast().split(separator: ",").contains {
                    $0.trimmingCharacters(in: .whitespaces) == part
                }
            }
            guard let open = p.firstIndex(of: "<") else { return false }
            // A bare top-level placeholder (`/<grid>/…` of another kind's table) would name every root group.
            if i == 0 && open == p.startIndex { return false }
            return part.hasPrefix(p[..<open]) && part.count > p[..<open].count
        }
    }
    func named(_ path: String) -> Bool {
        if document.contains(path) { return true }
        if patterns.contains(where: { matches($0, path.split(separator: "/").map(String.init)) }) { return true }
        let parts = path.split(separator: "/").map(String.init)
        let parent = parts.dropLast().joined(separator: "/"), last = parts.last ?? ""
        let prefix = parent.isEmpty ? "/" : parent + "/"
        if !parent.isEmpty && (document.contains(prefix + "<") || document.contains(prefix + "…")) { return true }
        var rest = Substring(document)
        while let open = rest.range(of: prefix + "{") {
            let tail = rest[open.upperBound...]
            guard let close = tail.firstIndex(of: "}") else { break }
            let names = tail[..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if names.contains(last) { return true }
            rest = tail[close...]
        }
        return false
    }
    var missing: [String] = []
    func visit(_ group: HDF5Group, _ path: String) throws {
        for name in try group.memberNames() {
            let child = path.isEmpty ? name : path + "/" + name
            if !named(child) { missing.append(child) }
            if let sub = try? group.group(name) { try visit(sub, child) }
        }
    }
    try visit(try file.root, "")
    return missing
}
