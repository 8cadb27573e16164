import Analysis
import Artifacts
import EPK
import Foundation
import History
import TestSupport
import XCTest

@testable import ExperimentKit

/// `sensitivity` on a step range of a history (docs/METHOD.md §18): the same per-step errors as the whole-history run at
/// those steps, a final error that starts from f(θ_from), and one-line errors for ranges that cannot be replayed.
final class SensitivityRangeTests: WorkspaceTestCase {
    /// A sensitivity config over `cases` (JSON objects) with midpoint 1 and 2, the early rule 4 points × 8 steps and
    /// bf16 at midpoint 2.
    func writeConfig(
        _ name: String, cases: [String], early: String = #"{"early_steps": 8, "early_points": 4}"#
    )
        throws -> String
    {
        let path = directory + "/" + name
        try """
        {"run": "t", "cases": [\(cases.joined(separator: ", "))],
         "grid": [{"rule": "midpoint", "points": [1, 2]}], "early": \(early),
         "precisions": ["bfloat16"], "precision_quadrature": {"rule": "midpoint", "points": 2}, "memory_budget_gb": 1}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    func testStepRangeRepeatsTheWholeRunsStepsAndStartsTheFinalErrorAtItsFirstStep() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train", dataDirectory: nil,
            resume: false, expectedExperiment: "mnist")
        let history = directory + "/train/history.h5"
        XCTAssertEqual(try HistoryFileReader(path: history).stepCount, 20)

        // A range past the history's end is refused before any case runs, naming the key and the fix.
        let tooLong = try writeConfig(
            "too-long.json",
            cases: [
                #"{"name": "whole", "history": "\#(history)", "test_count": 3}"#,
                #"{"name": "late", "history": "\#(history)", "test_count": 3, "steps": {"from": 15, "to": 21}}"#,
            ])
        XCTAssertEqual(
            message {
                _ = try SensitivityDriver.run(
                    configPath: tooLong, outputDirectory: directory + "/bad", dataDirectory: nil)
            },
            "\(tooLong): key 'cases[1].steps.to': expected at most the 20 steps of \(history), found 21; lower it to ≤ 20 or remove steps to replay the whole history"
        )
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/bad/sensitivity.h5"))

        // Steps 6..<10 overlap the early rule's steps 0..<8, so the range keeps the early-rule settings.
        let config = try writeConfig(
            "range.json",
            cases: [
                #"{"name": "whole", "history": "\#(history)", "test_count": 3}"#,
                #"{"name": "range", "history": "\#(history)", "test_count": 3, "steps": {"from": 6, "to": 10}}"#,
            ])
        let out = directory + "/sensitivity"
        let r = try SensitivityDriver.run(configPath: config, outputDirectory: out, dataDirectory: nil)
        let whole = try XCTUnwrap(r.results["whole"]), part = try XCTUnwrap(r.results["range"])
        XCTAssertEqual(
            part.map(\.setting.label),
            ["midpoint 1", "midpoint 2", "midpoint 1 + early 4×8", "midpoint 2 + early 4×8", "midpoint 2 [bfloat16]"])
        XCTAssertEqual(part.map(\.setting), whole.map(\.setting))
        for (w, p) in zip(whole, part) {
            XCTAssertEqual(w.perStepError.count, 20)
            XCTAssertEqual(p.perStepError.count, 4)
            for j in 0..<4 {
                let expected = w.perStepError[6 + j]
                XCTAssertGreaterThan(expected, 0)
                XCTAssertEqual(
                    p.perStepError[j], expected, accuracy: 1e-4 * expected, "\(p.setting.label) step \(6 + j)")
            }
        }
        // Early rule: 4 points on steps 6 and 7 of the range, 1 on steps 8 and 9.
        XCTAssertEqual(part[2].evaluationsPerStep, (2 * 4 + 2 * 1) / 4, accuracy: 1e-12)

        // The final error of midpoint 2, independently: f(θ_6) + Σ predicted steps 6..<10 against f(θ_10).
        let setup = try ReplaySetup(historyPath: history, dataDirectory: nil)
        let inputs = setup.data.evaluation.inputs.rows(0..<3)
        let f6 = setup.model.forward(parameters: try setup.history.parameters(at: 6), inputs: inputs).storage
        let f10 = setup.model.forward(parameters: try setup.history.parameters(at: 10), inputs: inputs).storage
        let engine = try EPKEngine(
            model: setup.model, history: setup.history, data: DatasetReplay(setup.data.train),
            options: EPKOptions(quadrature: QuadratureConfig(rule: .midpoint, points: 2), classes: .all, steps: 6..<10))
        let e = try engine.run(testInputs: inputs, testLabels: nil)
        let rows = f6.count
        XCTAssertEqual(e.stepPredicted.count, 4 * rows)
        var finalError = 0.0
        for row in 0..<rows {
            let fhat = Double(f6[row]) + (0..<4).reduce(0.0) { $0 + Double(e.stepPredicted[$1 * rows + row]) }
            finalError += abs(fhat - Double(f10[row])) / Double(rows)
        }
        XCTAssertGreaterThan(finalError, 0)
        XCTAssertEqual(part[1].finalError, finalError, accuracy: 1e-5 * finalError + 1e-9)

        // The artifact records the range; the report and the figures state it.
        let file = try HDF5File(path: r.path, mode: .read)
        defer { file.close() }
        let g = try file.root.group("cases").group("range")
        XCTAssertEqual(try g.intAttribute("step_first"), 6)
        XCTAssertEqual(try g.intAttribute("step_end"), 10)
        XCTAssertEqual(try g.intAttribute("history_steps"), 20)
        XCTAssertEqual(try g.dataset("per_step_error").shape, [5, 4])
        XCTAssertEqual(
            try g.dataset("per_step_error").stringAttribute("axes"), "setting, step 6 + j for j in 0..<4 (steps 6..<10)"
        )
        XCTAssertEqual(
            try g.dataset("final_error").stringAttribute("axes"),
            "setting; mean |f(θ_10) − f̂| over rows, f̂ = f(θ_6) + Σ predicted steps 6..<10")
        let wholeGroup = try file.root.group("cases").group("whole")
        XCTAssertEqual(try wholeGroup.intAttribute("step_first"), 0)
        XCTAssertEqual(try wholeGroup.intAttribute("step_end"), 20)
        let rowsOut = try SensitivityExperiment.summarize(file).rows
        let model = try g.stringAttribute("model")
        XCTAssertEqual(
            rowsOut.first { $0.0 == "range" }?.1,
            "\(model), 3 test points, steps 6..<10 of 20 (4 steps; final error |f(θ_10) − f̂| from f(θ_6))")
        XCTAssertEqual(rowsOut.first { $0.0 == "whole" }?.1, "\(model), 3 test points, 20 steps")
        XCTAssertEqual(
            rowsOut.first { $0.0 == "range: midpoint 2" }?.1,
            String(
                format: "step error %.3g · final error %.3g (max %.3g) · agreement %.3f · %.1f evaluations/step",
                part[1].stepError, part[1].finalError, part[1].finalMaxError, part[1].agreement, 2.0))
        let cases = try SensitivityFigures.cases(file)
        XCTAssertEqual(cases[1].steps, 6..<10)
        XCTAssertEqual(cases[1].title, "range (steps 6..<10 of 20)")
        XCTAssertEqual(cases[0].title, "whole")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/sensitivity-per-step.png"))
    }

    func testBadStepRangesAndAnUnusableEarlyRuleAreOneLineConfigErrors() throws {
        let h = "results/x/history.h5"
        func load(_ cases: [String]) throws -> (String, String) {
            let path = try writeConfig("c.json", cases: cases)
            return (path, message { _ = try StrictConfig.load(SensitivityConfig.self, from: path) })
        }
        var (path, m) = try load([#"{"name": "a", "history": "\#(h)", "test_count": 2, "steps": {"from": 5, "to": 5}}"#]
        )
        XCTAssertEqual(
            m,
            "\(path): key 'cases[0].steps.to': expected an integer > steps.from = 5 (the steps are from ..< to; raise to or lower from), found 5"
        )
        (path, m) = try load([
            #"{"name": "a", "history": "\#(h)", "test_count": 2}"#,
            #"{"name": "b", "history": "\#(h)", "test_count": 2, "steps": {"from": -1, "to": 4}}"#,
        ])
        XCTAssertEqual(m, "\(path): key 'cases[1].steps.from': expected an integer ≥ 0, found -1")
        (path, m) = try load([
            #"{"name": "a", "history": "\#(h)", "test_count": 2, "steps": {"from": 3, "to": 4, "too": 5}}"#
        ])
        XCTAssertTrue(m.hasPrefix("\(path): unknown key 'cases[0].steps.too'"), m)
        // Every range starts after the early rule's steps: it would change nothing.
        (path, m) = try load([#"{"name": "a", "history": "\#(h)", "test_count": 2, "steps": {"from": 8, "to": 12}}"#])
        XCTAssertEqual(
            m,
            "\(path): key 'early': the early rule covers steps < 8, but every case's steps.from is ≥ 8; remove early or start a range before step 8"
        )
        // One case reaching into the early steps is enough; it alone gets the early-rule settings.
        (path, m) = try load([
            #"{"name": "a", "history": "\#(h)", "test_count": 2, "steps": {"from": 8, "to": 12}}"#,
            #"{"name": "b", "history": "\#(h)", "test_count": 2, "steps": {"from": 7, "to": 12}}"#,
        ])
        XCTAssertEqual(m, "no error")
        let config = try StrictConfig.load(SensitivityConfig.self, from: path)
        XCTAssertEqual(config.settings(firstStep: 8).count, 3)
        XCTAssertEqual(config.settings(firstStep: 7).count, 5)
        // The paper config's ranges load and keep the quick config's grid.
        let paper = try StrictConfig.load(SensitivityConfig.self, from: "Configs/sensitivity.json")
        XCTAssertEqual(paper.cases.map { $0.steps }, [.init(from: 593, to: 641), .init(from: 153, to: 173)])
        XCTAssertTrue(
            try StrictConfig.load(SensitivityConfig.self, from: "Configs/sensitivity-quick.json").cases.allSatisfy {
                $0.steps == nil
            })
    }
}
