import Artifacts
import Foundation

/// How an artifact is slimmed into the companion stored under `results/reference/` (docs/ARTIFACTS.md, "Reference
/// companions"): the same layout, deflated, without the datasets that no figure or report row reads, and with a few
/// datasets reduced to the part the figures and report use. `plot` and `report` read a companion exactly as they read
/// the full artifact.
public struct ReferenceRules: Sendable {
    /// A dataset written in reduced form: `reduce` writes its replacement into the companion group it is given.
    public struct Reduction: Sendable {
        /// Dataset or group path relative to the root; `*` stands for one path component (e.g. `data/*`). A group
        /// that matches is handed to `reduce` whole instead of being copied member by member.
        public var pattern: String
        /// What the reduction keeps, in words (stored in the companion's `reference_rules` attribute).
        public var meaning: String
        /// (source file, source path, companion group, name) → the written dataset (under that name, or a new dataset
        /// that replaces it, which then carries its own attributes). A group reduction creates the group `name` itself
        /// and returns one dataset written into it.
        public var reduce: @Sendable (HDF5File, String, HDF5Group, String) throws -> HDF5Dataset
        public init(
            pattern: String, meaning: String,
            reduce: @escaping @Sendable (HDF5File, String, HDF5Group, String) throws -> HDF5Dataset
        ) {
            self.pattern = pattern; self.meaning = meaning; self.reduce = reduce
        }
    }

    /// Datasets or groups left out (paths relative to the root; `*` stands for one path component).
    public var omit: [String]
    public var reductions: [Reduction]

    public init(omit: [String] = [], reductions: [Reduction] = []) {
        self.omit = omit; self.reductions = reductions
    }

    /// Everything kept (small artifacts).
    public static let keepAll = ReferenceRules()

    /// The rules in words, one clause per omission and reduction.
    public var description: String {
        let parts =
            omit.map { "omitted \($0)" } + reductions.map { "\($0.pattern) reduced to \($0.meaning)" }
        return parts.isEmpty ? "complete copy (deflated)" : parts.joined(separator: "; ")
    }

    static func matches(_ pattern: String, _ path: String) -> Bool {
        let p = pattern.split(separator: "/"), q = path.split(separator: "/")
        return p.count == q.count && zip(p, q).allSatisfy { $0 == "*" || $0 == $1 }
    }
}

extension ExperimentArtifact {
    /// By default a companion is a complete, deflated copy.
    public static var referenceRules: ReferenceRules { .keepAll }
}

/// Writes stored reference companions (`--reference DIR` of every experiment executable).
public enum ReferenceCompanion {
    /// Writes the companion of `artifact` as `directory/<artifact file name>` (temporary name, then rename), renders
    /// the figures of its kind beside it, and returns the companion's path. The companion keeps every attribute of the
    /// source (its provenance included) and adds `reference_source` (the full artifact's path and size) and
    /// `reference_rules` (what was left out or reduced).
    @discardableResult
    public static func write(artifact: String, directory: String) throws -> String {
        let source = try HDF5File(path: artifact, mode: .read)
        defer { source.close() }
        let root = try source.root
        guard root.hasAttribute("kind"), let kind = ExperimentCatalog.artifact(kind: try root.stringAttribute("kind"))
        else {
            throw ArtifactError(
                .invalidArgument, file: artifact, problem: "not an artifact with figures or report rules",
                fix: "pass --reference to an executable that writes one")
        }
        let rules = kind.referenceRules
        let target = directory + "/" + URL(fileURLWithPath: artifact).lastPathComponent
        guard URL(fileURLWithPath: target).standardizedFileURL != URL(fileURLWithPath: artifact).standardizedFileURL
        else {
            throw ArtifactError(
                .invalidArgument, file: artifact, problem: "--reference names the artifact's own folder",
                fix: "pass a separate folder, e.g. results/reference/<stage>")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: artifact)[.size] as? Int) ?? 0
        try AtomicFile.write(to: target) { tmp in
            let file = try HDF5File(path: tmp, mode: .create)
            defer { file.close() }
            let out = try file.root
            try root.copyAttributes(to: out)
            try out.setAttribute("reference_source", "\(artifact) (\(bytes) bytes)")
            try out.setAttribute("reference_rules", rules.description)
            try copy(group: root, at: "", from: source, into: out, rules: rules)
            try file.flush()
        }
        for (_, result) in try FigureRenderer.renderAll(artifact: target, directory: directory) { _ = try result.get() }
        return target
    }

    private static func copy(
        group: HDF5Group, at prefix: String, from source: HDF5File, into target: HDF5Group, rules: ReferenceRules
    ) throws {
        for name in try group.memberNames() {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            if rules.omit.contains(where: { ReferenceRules.matches($0, path) }) { continue }
            let reduction = rules.reductions.first(where: { ReferenceRules.matches($0.pattern, path) })
            if try group.isGroup(name) {
                if let reduction {
                    _ = try reduction.reduce(source, path, target, name)
                    continue
                }
                let sub = try group.group(name)
                let copy = try target.createGroup(name)
                try sub.copyAttributes(to: copy)
                try self.copy(group: sub, at: path, from: source, into: copy, rules: rules)
            } else if let reduction {
                // A reduction to the same name keeps the dataset's attributes; one to a new dataset sets its own.
                let written = try reduction.reduce(source, path, target, name)
                if written.path.hasSuffix("/" + name) { try group.dataset(name).copyAttributes(to: written) }
            } else {
                try target.copyDataset(try group.dataset(name), as: name)
            }
        }
    }
}
