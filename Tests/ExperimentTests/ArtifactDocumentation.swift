import Artifacts
import Foundation
import TestSupport

/// Every group and dataset path of `file` that docs/ARTIFACTS.md does not name. A path `a/b/c` counts as named when
/// the document has `a/b/c`, a placeholder under its parent (`a/b/<…>` or `a/b/…`), or a brace list under its parent
/// that holds its last name (`a/b/{x, c, y}`). The check that keeps the document in step with what the code writes.
func undocumentedPaths(_ file: HDF5File) throws -> [String] {
    let document = try String(contentsOfFile: repositoryRoot + "/docs/ARTIFACTS.md", encoding: .utf8)
    func named(_ path: String) -> Bool {
        if document.contains(path) { return true }
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
