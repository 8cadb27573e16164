import Artifacts
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// Skip/re-run logic of the reproduction pipeline.
final class PipelineTests: WorkspaceTestCase {

    /// Every string value stored under `key` anywhere in a parsed JSON document.
    static func values(ofKey key: String, in json: Any) -> [String] {
        if let d = json as? [String: Any] {
            return d.flatMap { k, v in (k == key ? [v as? String].compactMap { $0 } : []) + values(ofKey: key, in: v) }
        }
        if let a = json as? [Any] { return a.flatMap { values(ofKey: key, in: $0) } }
        return []
    }

    /// A fake stage runner: writes an artifact whose `config` attribute is the config file's text.
    private func produce(_ stage: Stage) throws {
        let text = try String(contentsOfFile: stage.config, encoding: .utf8)
        try AtomicFile.write(to: stage.artifact) { tmp in
            let f = try HDF5File(path: tmp, mode: .create)
            try f.root.setAttribute("config", text)
            f.close()
        }
    }

    func testValidArtifactsAreSkippedAndChangedConfigsRerun() throws {
        let a = directory + "/a.json", b = directory + "/b.json"
        try "{\"x\": 1}".write(toFile: a, atomically: true, encoding: .utf8)
        try "{\"y\": 2}".write(toFile: b, atomically: true, encoding: .utf8)
        let pipeline = PipelineConfig(
            name: "test",
            stages: [
                Stage(
                    name: "first", executable: "none", config: a, artifact: directory + "/a.h5", after: nil,
                    arguments: nil),
                Stage(
                    name: "second", executable: "none", config: b, artifact: directory + "/b.h5", after: ["first"],
                    arguments: nil),
            ])
        var ran: [String] = []
        try Pipeline.run(pipeline) {
            ran.append($0.name); try self.produce($0)
        }
        XCTAssertEqual(ran, ["first", "second"])

        ran = []
        let log = try Pipeline.run(pipeline) {
            ran.append($0.name); try self.produce($0)
        }
        XCTAssertEqual(ran, [], "everything is up to date")
        XCTAssertEqual(log.map(\.status), [.upToDate, .upToDate])

        // Changing the first config re-runs it, and then the second (its dependency is newer).
        Thread.sleep(forTimeInterval: 1.1)
        try "{\"x\": 3}".write(toFile: a, atomically: true, encoding: .utf8)
        XCTAssertEqual(Pipeline.status(of: pipeline.stages[0], in: pipeline), .configChanged)
        ran = []
        try Pipeline.run(pipeline) {
            ran.append($0.name); try self.produce($0)
        }
        XCTAssertEqual(ran, ["first", "second"])

        // A corrupt artifact is re-run too.
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: directory + "/b.h5"))
        if case .invalid = Pipeline.status(of: pipeline.stages[1], in: pipeline) {
        } else {
            XCTFail("corrupt artifact not detected")
        }
        ran = []
        try Pipeline.run(pipeline) {
            ran.append($0.name); try self.produce($0)
        }
        XCTAssertEqual(ran, ["second"])
    }

    func testPipelineConfigsAreValid() throws {
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot)
        for name in ["Configs/pipeline-quick.json", "Configs/pipeline-all.json"] {
            let p = try StrictConfig.load(PipelineConfig.self, from: name)
            for s in p.stages {
                XCTAssertTrue(FileManager.default.fileExists(atPath: s.config), "\(name): \(s.config)")
            }
            // Every history a stage's config reads is written by a stage it runs after (directly or transitively): the
            // producer is the upstream stage whose artifact sits in the history's folder. (reproduce-all once read the
            // quick histories in `sensitivity` without training them.)
            var upstream: [String: Set<String>] = [:]
            for s in p.stages {
                upstream[s.name] = (s.after ?? []).reduce(into: Set<String>()) {
                    $0.insert($1); $0.formUnion(upstream[$1] ?? [])
                }
            }
            let folder = { (path: String) in (path as NSString).deletingLastPathComponent }
            for s in p.stages {
                let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: s.config)))
                for history in Self.values(ofKey: "history", in: json) {
                    let producers = p.stages.filter { folder($0.artifact) == folder(history) }.map(\.name)
                    XCTAssertFalse(
                        producers.isEmpty, "\(name): stage \(s.name) reads \(history), which no stage writes")
                    XCTAssertTrue(
                        producers.contains { upstream[s.name]!.contains($0) },
                        "\(name): stage \(s.name) reads \(history) but does not run after its producer \(producers)")
                }
            }
        }
        let bad = directory + "/bad.json"
        try
            "{\"name\": \"x\", \"stages\": [{\"name\": \"a\", \"executable\": \"e\", \"config\": \"c\", \"artifact\": \"a\", \"after\": [\"b\"]}]}"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try StrictConfig.load(PipelineConfig.self, from: bad)) { e in
            XCTAssertTrue("\(e)".contains("stages[0].after"), "\(e)")
        }
    }

    /// `reproduce --stage NAME`: the stage and everything it reads, transitively, in pipeline order; nothing else.
    func testRestrictingToAStageKeepsExactlyItsUpstream() throws {
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot)
        let p = try StrictConfig.load(PipelineConfig.self, from: "Configs/pipeline-quick.json")
        XCTAssertEqual(try p.restricted(toStage: "epk-mnist").stages.map(\.name), ["train-mnist", "epk-mnist"])
        XCTAssertEqual(try p.restricted(toStage: "train-lm").stages.map(\.name), ["train-lm"])
        let chain = PipelineConfig(
            name: "c",
            stages: ["a", "b", "c", "d"].enumerated().map { i, name in
                Stage(
                    name: name, executable: "e", config: "x", artifact: name,
                    after: i == 2 ? ["b"] : i == 1 ? ["a"] : nil)
            }, resources: nil)
        XCTAssertEqual(try chain.restricted(toStage: "c").stages.map(\.name), ["a", "b", "c"])
        XCTAssertThrowsError(try p.restricted(toStage: "no-such-stage")) { e in
            XCTAssertTrue("\(e)".contains("no stage named 'no-such-stage'"), "\(e)")
        }
    }
}
