import Artifacts
import EPK
import Foundation
import TestSupport
import XCTest

@testable import ExperimentKit

/// Stored reference companions (docs/ARTIFACTS.md, "Reference companions"): a slimmed, deflated copy that `plot` and
/// `report` read exactly as the full artifact.
final class ReferenceCompanionTests: WorkspaceTestCase {
    /// A quick MNIST EPK with all-class data attribution and data snapshots, and its companion.
    func testEPKCompanionKeepsEveryFigureAndReportRowOfTheFullArtifact() throws {
        _ = try TrainingDriver.run(
            configPath: "Configs/mnist-quick.json", outputDirectory: directory + "/train",
            dataDirectory: nil, resume: false, expectedExperiment: "mnist")
        let config = try writeMNISTEPKConfig("epk.json") { config in
            config.testCount = 5; config.attributionClasses = .selected; config.dataAttribution = true
            config.dataSnapshotInterval = 4
        }
        let full = try EPKDriver.run(
            configPath: config, historyOverride: directory + "/train/history.h5",
            outputDirectory: directory + "/full", dataDirectory: nil, shard: nil
        ).path
        let companion = try ReferenceCompanion.write(artifact: full, directory: directory + "/reference")
        XCTAssertEqual(companion, directory + "/reference/epk.h5")

        let source = try HDF5File(path: full, mode: .read)
        defer { source.close() }
        let slim = try HDF5File(path: companion, mode: .read)
        defer { slim.close() }
        let (s, c) = (try source.root, try slim.root)
        // The attributes of the run are kept, and the companion says what it left out.
        for name in ["kind", "config", "history", "test_count", "step_end"] {
            XCTAssertEqual(try c.stringOrNumber(name), try s.stringOrNumber(name), name)
        }
        XCTAssertTrue(try c.stringAttribute("reference_rules").contains("omitted steps/predicted"))
        XCTAssertTrue(try c.stringAttribute("reference_source").hasPrefix(full + " ("))
        for omitted in ["steps/predicted", "steps/truth", "steps/kernel_focus", "steps/regularization_focus"] {
            XCTAssertFalse(c.contains(omitted), omitted)
        }
        // The balance figure's per-step layer-group sums are the ones the full artifact gives.
        let balanceFull = try EPKFigures.balanceSums(source), balanceSlim = try EPKFigures.balanceSums(slim)
        XCTAssertEqual(balanceSlim.groups, balanceFull.groups)
        XCTAssertEqual(balanceSlim.kernel, balanceFull.kernel)
        XCTAssertEqual(balanceSlim.regularization, balanceFull.regularization)
        XCTAssertTrue(balanceFull.kernel.contains { $0 > 0 })

        // The per-step summaries the figures read match the full step arrays.
        let predicted = try s.read("steps/predicted", as: Float.self)
        let truth = try s.read("steps/truth", as: Float.self).values
        let T = predicted.shape[0], rows = predicted.values.count / T
        let error = try c.read("steps/mean_abs_error", as: Double.self).values
        for t in 0..<T {
            let expected =
                (0..<rows).reduce(0.0) { $0 + Double(abs(truth[t * rows + $1] - predicted.values[t * rows + $1])) }
                / Double(rows)
            XCTAssertEqual(error[t], expected, accuracy: 1e-12 + 1e-9 * expected)
        }

        // Data attribution: the focus-class row of every test point summed over the (disjoint, per-layer) groups,
        // for the total and every snapshot.
        let classes = try s.read("outputs/attribution_classes", as: Int32.self)
        let focus = try s.read("outputs/focus_classes", as: Int32.self).values
        let n = classes.shape[0], Sa = classes.shape[1]
        XCTAssertGreaterThan(Sa, 1, "the test needs several attribution rows to show the reduction")
        XCTAssertEqual(try c.read("outputs/attribution_classes", as: Int32.self).values, focus)
        let groups = try s.group("data").jsonAttribute("groups", as: [String].self)
        XCTAssertGreaterThan(groups.count, 1)
        XCTAssertEqual(try EPKFigures.totalGroups(source, part: "data"), groups)
        for part in ["data", "data_snapshots"] {
            XCTAssertEqual(try c.group(part).jsonAttribute("groups", as: [String].self), ["total"])
            XCTAssertEqual(try c.group(part).jsonAttribute("summed_groups", as: [String].self), groups)
            let reduced = try c.read("\(part)/total", as: Float.self)
            let shape = try s.dataset("\(part)/\(groups[0])").shape
            let N = shape.last!, blocks = shape.count == 4 ? shape[0] : 1
            XCTAssertEqual(reduced.shape, Array(shape.dropLast(2)) + [1, N])
            var expected = [Double](repeating: 0, count: blocks * n * N)
            for g in groups {
                let whole = try s.read("\(part)/\(g)", as: Float.self).values
                for k in 0..<blocks {
                    for a in 0..<n {
                        let row = (0..<Sa).first { classes.values[a * Sa + $0] == focus[a] }!
                        let from = ((k * n + a) * Sa + row) * N, to = (k * n + a) * N
                        for j in 0..<N { expected[to + j] += Double(whole[from + j]) }
                    }
                }
            }
            XCTAssertTrue(expected.contains { $0 != 0 })
            XCTAssertEqual(reduced.values, expected.map(Float.init))
            // The figures' matrices are the same from either file.
            XCTAssertEqual(
                try EPKFigures.focusMatrices(slim, part: part).matrices.map { $0.map(Float.init) },
                try EPKFigures.focusMatrices(source, part: part).matrices.map { $0.map(Float.init) })
        }
        XCTAssertEqual(
            try c.read("data_snapshots/start", as: Int32.self).values,
            try s.read("data_snapshots/start", as: Int32.self).values)

        // Component attribution: the focus-class row of every test point.
        let rowClasses = try s.read("outputs/row_classes", as: Int32.self)
        let S = rowClasses.shape[1]
        XCTAssertGreaterThan(S, 1)
        XCTAssertEqual(try c.read("outputs/row_classes", as: Int32.self).values, focus)
        for part in ["components/kernel", "components/regularization"] {
            let whole = try s.read(part, as: Double.self), reduced = try c.read(part, as: Double.self)
            let K = whole.shape[2]
            XCTAssertEqual(reduced.shape, [n, 1, K])
            for a in 0..<n {
                let row = (0..<S).first { rowClasses.values[a * S + $0] == focus[a] }!
                XCTAssertEqual(
                    Array(reduced.values[(a * K)..<(a * K + K)]),
                    Array(whole.values[((a * S + row) * K)..<((a * S + row) * K + K)]), part)
            }
        }

        // Every figure of the full artifact is drawn from the companion, and the report rows are the same.
        let drawnFromFull = try FigureRenderer.renderAll(artifact: full, directory: directory + "/figures-full")
        let drawnFromCompanion = try FigureRenderer.renderAll(artifact: companion, directory: directory + "/figures")
        XCTAssertEqual(drawnFromCompanion.map(\.name), drawnFromFull.map(\.name))
        XCTAssertTrue(drawnFromFull.map(\.name).contains("epk-data-snapshots"))
        for (name, result) in drawnFromCompanion { XCTAssertNoThrow(try result.get(), name) }
        let rowsFull = try ReportWriter.summarize(artifact: full).rows.map { "\($0.0)=\($0.1)" }
        let rowsCompanion = try ReportWriter.summarize(artifact: companion).rows.map { "\($0.0)=\($0.1)" }
        XCTAssertEqual(rowsCompanion, rowsFull)
        // The companion's own figures were written beside it.
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/reference/epk-step-error.png"))

        let bytes = { (p: String) in try FileManager.default.attributesOfItem(atPath: p)[.size] as! Int }
        XCTAssertLessThan(try bytes(companion), try bytes(full) / 2)
    }

    /// A cosine matrix larger than a heatmap draws keeps every k-th point per axis, with the points it keeps named.
    func testLargeCosineMatricesKeepEvenlySpacedPoints() throws {
        let source = directory + "/attribution.h5", target = directory + "/companion.h5"
        let nv = 600, nt = 260
        try ArtifactFile.write(to: source, kind: ArtifactKind.componentAttribution.rawValue, config: "{}") { root in
            try root.setJSONAttribute("figure_steps", [0, 50])
            try root.setJSONAttribute("groups", ["model"])
            try root.setJSONAttribute("group_slugs", ["model"])
            _ = try root.write("snapshots/start", [Int32(0), 50, 100], shape: [3])
            _ = try root.write("snapshots/end", [Int32(50), 100, 150], shape: [3])
            for (name, n) in [("val_sum", nv), ("val_target", nv), ("train_sum", nt)] {
                _ = try root.write("keys/\(name)", (0..<n).map(Double.init), shape: [n])
            }
            _ = try root.write(
                "cosine/model/val_total", (0..<(nv * nv)).map { Float($0 % 9973) }, shape: [nv, nv])
            _ = try root.write(
                "cosine/model/train_val", (0..<(3 * nv * nt)).map { Float($0 % 7919) }, shape: [3, nv, nt])
        }
        let file = try HDF5File(path: source, mode: .read)
        defer { file.close() }
        let out = try HDF5File(path: target, mode: .create)
        defer { out.close() }
        let total = try ComponentAttributionExperiment.keepBlocks(
            file, "cosine/model/val_total", try out.root, "val_total", intervals: .none)
        let rows = Array(stride(from: 0, to: nv, by: 3))  // ⌈600 / 250⌉ = 3
        XCTAssertEqual(try total.shape, [rows.count, rows.count])
        XCTAssertEqual(try total.intArrayAttribute("kept_rows"), rows)
        let values = try total.read(as: Float.self)
        XCTAssertEqual(values[1 * rows.count + 2], Float((3 * nv + 6) % 9973))
        let block = try ComponentAttributionFigures.cosineBlock(out, "/val_total", interval: nil)
        XCTAssertEqual(block.rows, rows)
        XCTAssertEqual(block.columns, rows)

        let trainVal = try ComponentAttributionExperiment.keepBlocks(
            file, "cosine/model/train_val", try out.root, "train_val", intervals: .lastFigureStep)
        let columns = Array(stride(from: 0, to: nt, by: 2))  // ⌈260 / 250⌉ = 2
        XCTAssertEqual(try trainVal.shape, [1, rows.count, columns.count])
        XCTAssertEqual(try trainVal.intArrayAttribute("kept_intervals"), [1])
        let kept = try ComponentAttributionFigures.cosineBlock(out, "/train_val", interval: 1)
        XCTAssertEqual(kept.columns, columns)
        XCTAssertEqual(kept.values[0], Float((1 * nv * nt) % 7919))
        XCTAssertEqual(
            kept.values[rows.count * columns.count - 1],
            Float(((1 * nv + rows.last!) * nt + columns.last!) % 7919))
    }

    func testACompanionNeverReplacesItsOwnArtifactOrAFileWithoutKind() throws {
        let path = directory + "/run/metrics.h5"
        try FileManager.default.createDirectory(atPath: directory + "/run", withIntermediateDirectories: true)
        try ArtifactFile.write(to: path, kind: ArtifactKind.swapAligned.rawValue, config: "{}") { root in
            _ = try root.write("step_accuracy", [0.5, 1.0], shape: [2])
        }
        XCTAssertThrowsError(try ReferenceCompanion.write(artifact: path, directory: directory + "/run")) {
            XCTAssertTrue("\($0)".contains("--reference names the artifact's own folder"), "\($0)")
        }
        let plain = directory + "/plain.h5"
        let file = try HDF5File(path: plain, mode: .create)
        _ = try file.root.write("x", [1.0], shape: [1])
        file.close()
        XCTAssertThrowsError(try ReferenceCompanion.write(artifact: plain, directory: directory + "/ref")) {
            XCTAssertTrue("\($0)".contains("not an artifact with figures or report rules"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/ref/plain.h5"))
    }

    /// Attributes of every kind this module writes survive the copy, and compressed datasets read back exactly.
    /// The data-attribution total counts every component once: a covering group ("model", the union of the layer
    /// groups) alone, disjoint groups summed, and overlapping groups without a cover refused.
    func testDataAttributionTotalCountsEveryComponentOnce() throws {
        func totalGroups(_ groups: [String]) throws -> [String] {
            let path = directory + "/groups.h5"
            try? FileManager.default.removeItem(atPath: path)
            do {
                let file = try HDF5File(path: path, mode: .create)
                defer { file.close() }
                let root = try file.root
                try root.setJSONAttribute("components", ["a.weight", "a.bias", "b.weight", "c.weight"])
                try root.setJSONAttribute(
                    "component_groups",
                    [
                        ["a": ["a.weight", "a.bias"]], ["b": ["b.weight"]], ["c": ["c.weight"]],
                        ["ab": ["a.weight", "a.bias", "b.weight"]],
                        ["model": ["a.weight", "a.bias", "b.weight", "c.weight"]],
                    ])
                try root.createGroup("data").setJSONAttribute("groups", groups)
            }
            let file = try HDF5File(path: path, mode: .read)
            defer { file.close() }
            return try EPKFigures.totalGroups(file, part: "data")
        }
        XCTAssertEqual(try totalGroups(["a", "b", "c", "model"]), ["model"])
        XCTAssertEqual(try totalGroups(["a", "b", "c"]), ["a", "b", "c"])
        XCTAssertEqual(try totalGroups(["a.weight", "a.bias", "b"]), ["a.weight", "a.bias", "b"])
        XCTAssertEqual(try totalGroups(["ab", "a", "b"]), ["ab"])
        XCTAssertEqual(try totalGroups(["total"]), ["total"])
        XCTAssertThrowsError(try totalGroups(["ab", "a.bias", "c"])) { error in
            XCTAssertTrue("\(error)".contains("overlap"), "\(error)")
        }
        XCTAssertThrowsError(try totalGroups(["a", "nonexistent"])) { error in
            XCTAssertTrue("\(error)".contains("nonexistent"), "\(error)")
        }
    }

    func testCopiedAttributesAndCompressedDatasetsRoundTrip() throws {
        let a = directory + "/a.h5", b = directory + "/b.h5"
        let values = (0..<70_000).map { Float(sin(Double($0) * 0.01)) }
        do {
            let file = try HDF5File(path: a, mode: .create)
            defer { file.close() }
            let root = try file.root
            try root.setAttribute("text", "α β")
            try root.setAttribute("count", 7)
            try root.setAttribute("scale", 0.25)
            try root.setAttribute("steps", [1, 2, 3])
            try root.setAttribute("weights", [0.5, 1.5])
            let d = try root.write("values", values, shape: [700, 100])
            try d.setAttribute("axes", "row, column")
            _ = try root.write("scalar", [Int32(4)], shape: [])
        }
        do {
            let source = try HDF5File(path: a, mode: .read)
            defer { source.close() }
            let target = try HDF5File(path: b, mode: .create)
            defer { target.close() }
            try source.root.copyAttributes(to: try target.root)
            try target.root.copyDataset(try source.root.dataset("values"), as: "values")
            try target.root.copyDataset(try source.root.dataset("scalar"), as: "scalar")
        }
        let file = try HDF5File(path: b, mode: .read)
        defer { file.close() }
        let root = try file.root
        XCTAssertEqual(try root.stringAttribute("text"), "α β")
        XCTAssertEqual(try root.intAttribute("count"), 7)
        XCTAssertEqual(try root.doubleAttribute("scale"), 0.25)
        XCTAssertEqual(try root.intArrayAttribute("steps"), [1, 2, 3])
        XCTAssertEqual(try root.doubleArrayAttribute("weights"), [0.5, 1.5])
        let copy = try root.read("values", as: Float.self)
        XCTAssertEqual(copy.shape, [700, 100])
        XCTAssertEqual(copy.values, values)
        XCTAssertEqual(try root.dataset("values").stringAttribute("axes"), "row, column")
        XCTAssertEqual(try root.read("scalar", as: Int32.self).values, [4])
        let bytes = try FileManager.default.attributesOfItem(atPath: b)[.size] as! Int
        XCTAssertLessThan(bytes, 70_000 * 4, "the smooth values compress")
    }

    func testAPipelineReferenceMustCarryTheArtifactsNameBelowTheReferenceFolder() throws {
        func pipeline(reference: String?, stageReference: String) -> String {
            """
            {"name": "p", \(reference.map { "\"reference\": \"\($0)\"," } ?? "") "stages": [
              {"name": "s", "executable": "swap-aligned", "config": "Configs/swap-aligned.json",
               "artifact": "results/swap-aligned/paper/swap.h5", "reference": "\(stageReference)"}]}
            """
        }
        let cases: [(String?, String, String)] = [
            ("results/reference", "results/reference/s/other.h5", "expected a file named swap.h5"),
            ("results/reference", "elsewhere/s/swap.h5", "is not below the pipeline's 'reference' folder"),
            (nil, "results/reference/s/swap.h5", "(not set)"),
        ]
        for (i, (folder, stageReference, message)) in cases.enumerated() {
            let path = directory + "/p\(i).json"
            try pipeline(reference: folder, stageReference: stageReference).write(
                toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try StrictConfig.load(PipelineConfig.self, from: path)) {
                XCTAssertTrue("\($0)".contains("stages[0].reference"), "\($0)")
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
        }
        let good = directory + "/good.json"
        try pipeline(reference: "results/reference", stageReference: "results/reference/s/swap.h5").write(
            toFile: good, atomically: true, encoding: .utf8)
        let stored = try StrictConfig.load(PipelineConfig.self, from: good).storingReferences()
        XCTAssertEqual(stored.stages[0].arguments, ["--reference", "results/reference/s"])
    }
}

extension HDF5Group {
    /// A root attribute as text, whatever its type (for comparing two files' attributes).
    fileprivate func stringOrNumber(_ name: String) throws -> String {
        if let s = try? stringAttribute(name) { return s }
        return "\(try doubleArrayAttribute(name))"
    }
}
