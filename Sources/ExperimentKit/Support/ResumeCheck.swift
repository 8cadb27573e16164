import Artifacts
import Foundation

/// What `--resume` compares before it continues a partial history: the stored config (every key except `run` and
/// `training.flush_every`, which name the output and set how often resume points are written, and so cannot change
/// the trajectory), the seed (a key of that config) and the training-set checksum. Any difference is refused with
/// one line: continuing would write a history whose stored config or checksum lies about its first steps.
public enum ResumeCheck {
    /// Keys that do not change the trajectory.
    static let ignoredKeys: Set<String> = ["run", "training.flush_every"]

    /// Throws unless the partial history at `partialPath` was started with the same config and data.
    public static func verify(
        partialPath: String, configPath: String, currentConfigJSON: String,
        currentChecksum: String, dataSummary: String
    ) throws {
        let file = try HDF5File(path: partialPath, mode: .read)
        defer { file.close() }
        let root = try file.root
        let stored = try root.stringAttribute("config"), storedChecksum = try root.stringAttribute("dataset_checksum")
        if let d = difference(stored: stored, current: currentConfigJSON) {
            throw ArtifactError(
                .config, file: partialPath,
                problem:
                    "--resume refused: key '\(d.key)' is \(d.current) in \(configPath) but \(d.stored) in the config the partial history was started with",
                fix: "resume with that config, or start again without --resume")
        }
        if storedChecksum != currentChecksum {
            throw ArtifactError(
                .invalidArgument, file: partialPath,
                problem:
                    "--resume refused: the partial history was recorded on training data with checksum \(storedChecksum), the data found now has \(currentChecksum) (\(dataSummary))",
                fix: "point --data at the original data, or start again without --resume")
        }
    }

    /// The first key (dotted path, sorted order) whose value differs between the two config texts, ignoring
    /// `ignoredKeys`; nil when they agree. Unparseable stored text counts as a difference at the root.
    static func difference(stored: String, current: String) -> (key: String, stored: String, current: String)? {
        guard let a = try? JSONSerialization.jsonObject(with: Data(stored.utf8), options: [.fragmentsAllowed]),
            let b = try? JSONSerialization.jsonObject(with: Data(current.utf8), options: [.fragmentsAllowed])
        else {
            return ("(whole config)", "unreadable", "valid JSON")
        }
        return diff(a, b, path: "")
    }

    private static func diff(_ a: Any?, _ b: Any?, path: String) -> (key: String, stored: String, current: String)? {
        if ignoredKeys.contains(path) { return nil }
        if let da = a as? [String: Any], let db = b as? [String: Any] {
            for key in Set(da.keys).union(db.keys).sorted() {
                if let d = diff(da[key], db[key], path: path.isEmpty ? key : path + "." + key) { return d }
            }
            return nil
        }
        if let aa = a as? [Any], let ab = b as? [Any], aa.count == ab.count {
            for i in aa.indices { if let d = diff(aa[i], ab[i], path: "\(path)[\(i)]") { return d } }
            return nil
        }
        if let oa = a as? NSObject, let ob = b as? NSObject, oa.isEqual(ob) { return nil }
        if a == nil && b == nil { return nil }
        return (path, render(a), render(b))
    }

    private static func render(_ v: Any?) -> String {
        guard let v else { return "absent" }
        if let s = v as? String { return "'\(s)'" }
        if let data = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys]),
            let text = String(data: data, encoding: .utf8)
        {
            return text
        }
        return "\(v)"
    }
}
