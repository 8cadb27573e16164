import Analysis
import Artifacts
import EPK
import Foundation
import Plot

/// Figures from `sensitivity.h5` (docs/METHOD.md §18, §20): replication error against gradient evaluations per step on
/// log–log axes, one curve per rule (solid: plain, dashed: with the early-step rule; markers: reduced storage
/// precision), with O(n⁻²) (smooth models) and O(n⁻¹) (ReLU models) reference lines through the 1-point midpoint
/// error; and the per-step error over the history for the plain settings. A case run on a step range a..<b names it
/// in its panel titles and plots against the real step numbers a … b − 1.
public enum SensitivityFigures {
    public static let all: [FigureRecipe] = [errorVersusPoints, perStep]

    struct CaseData {
        var name: String
        var settings: [SensitivityStudy.Setting]
        var evaluations, finalError, stepError: [Double]
        var perStep: [Double]
        var scale: [Double]
        /// The steps a..<b (the whole history when the file predates ranges: 0..<T) and the history's step count.
        var steps: Range<Int>
        var historySteps: Int

        /// "steps 479..<527 of 958" for a range, "" for the whole history.
        var rangeNote: String {
            steps == 0..<historySteps ? "" : "steps \(steps.lowerBound)..<\(steps.upperBound) of \(historySteps)"
        }
        /// The panel title prefix: the case name and, for a range, the steps.
        var title: String { rangeNote.isEmpty ? name : "\(name) (\(rangeNote))" }
        /// "|f(θ_527) − f̂| from f(θ_479)".
        var finalMetric: String { "|f(θ_\(steps.upperBound)) − f̂| from f(θ_\(steps.lowerBound))" }
    }

    static func cases(_ file: HDF5File) throws -> [CaseData] {
        try file.root.jsonAttribute("cases", as: [String].self).map { name in
            let g = "cases/\(name)/"
            let group = try file.root.group("cases").group(name)
            let scale = try file.doubles(g + "truth_scale")
            let first = group.hasAttribute("step_first") ? try group.intAttribute("step_first") : 0
            let end = group.hasAttribute("step_end") ? try group.intAttribute("step_end") : first + scale.count
            let total = group.hasAttribute("history_steps") ? try group.intAttribute("history_steps") : end
            guard end - first == scale.count else {
                throw ArtifactError(
                    .corrupt, file: file.path, object: g + "truth_scale",
                    problem: "\(scale.count) steps, but step_first..<step_end is \(first)..<\(end)",
                    fix: "re-run sensitivity")
            }
            return CaseData(
                name: name,
                settings: try group.jsonAttribute("settings", as: [SensitivityStudy.Setting].self),
                evaluations: try file.doubles(g + "evaluations_per_step"),
                finalError: try file.doubles(g + "final_error"),
                stepError: try file.doubles(g + "step_error"), perStep: try file.doubles(g + "per_step_error"),
                scale: scale, steps: first..<end, historySteps: total)
        }
    }

    static let errorVersusPoints = FigureRecipe(
        name: "sensitivity-error", artifactKind: SensitivityDriver.kind, datasets: []
    ) { file in
        let data = try cases(file)
        var panels: [Panel] = []
        for c in data {
            for (metric, axis, values) in [
                ("mean per-step error", "mean per-step error", c.stepError),
                ("mean final error", "mean final error \(c.finalMetric)", c.finalError),
            ] {
                var series: [Series] = []
                var references: [ReferenceLine] = []
                for (ri, rule) in QuadratureRule.allCases.enumerated() {
                    let color: Color = ri == 0 ? .blue : .vermillion
                    for early in [false, true] {
                        let idx = c.settings.indices.filter {
                            c.settings[$0].rule == rule && c.settings[$0].precision == .float32
                                && c.settings[$0].usesEarlyRule == early
                        }
                        .sorted { c.evaluations[$0] < c.evaluations[$1] }
                        guard !idx.isEmpty else { continue }
                        let e = early ? c.settings[idx[0]] : nil
                        let label =
                            rule.rawValue
                            + (e.map { " + early rule (\($0.earlyPoints) pts × \($0.earlySteps) steps)" } ?? "")
                        series.append(
                            Series(
                                label, x: idx.map { c.evaluations[$0] }, y: idx.map { max(values[$0], 1e-12) },
                                color: color, line: early ? .dashed : .solid, marker: early ? .square : .circle))
                        if rule == .midpoint && !early {
                            let n0 = c.evaluations[idx[0]], e0 = values[idx[0]]
                            references.append(
                                ReferenceLine(.powerLaw(coefficient: e0 * n0 * n0, exponent: -2), label: "O(n⁻²)"))
                            references.append(
                                ReferenceLine(
                                    .powerLaw(coefficient: e0 * n0, exponent: -1), label: "O(n⁻¹)", style: .dotted))
                        }
                    }
                }
                for (pi, p) in [StoragePrecision.bfloat16, .float16].enumerated() {
                    let idx = c.settings.indices.filter { c.settings[$0].precision == p }
                    guard !idx.isEmpty else { continue }
                    series.append(
                        .scatter(
                            "\(p.rawValue) history (\(c.settings[idx[0]].rule.rawValue) \(c.settings[idx[0]].points))",
                            x: idx.map { c.evaluations[$0] }, y: idx.map { max(values[$0], 1e-12) },
                            color: pi == 0 ? .purple : .green, marker: pi == 0 ? .diamond : .triangle, markerSize: 9))
                }
                panels.append(
                    .lines(
                        title: "\(c.title): \(metric)", x: .log("gradient evaluations per step"), y: .log(axis),
                        series: series, references: references))
            }
        }
        return Figure(
            title: "EPK replication error vs integration points (float32 model as truth)",
            width: 1400, height: 520 * max(1, data.count), columns: 2, panels: panels)
    }

    static let perStep = FigureRecipe(name: "sensitivity-per-step", artifactKind: SensitivityDriver.kind, datasets: [])
    { file in
        let data = try cases(file)
        var panels: [Panel] = []
        for c in data {
            let T = c.scale.count
            let steps = c.steps.map(Double.init)
            var series: [Series] = [
                Series("|ground-truth step|", x: steps, y: c.scale.map { max($0, 1e-12) }, color: .gray, lineWidth: 2.5)
            ]
            let plain = c.settings.indices.filter { !c.settings[$0].usesEarlyRule }
            for (k, i) in plain.enumerated() {
                let s = c.settings[i]
                let color =
                    s.precision != .float32
                    ? (s.precision == .bfloat16 ? Color.purple : .green)
                    : (s.rule == .midpoint ? Color.blue : .vermillion).mixed(
                        with: .white, fraction: 0.55 * Double(k % 4) / 3)
                series.append(
                    Series(
                        s.label, x: steps, y: (0..<T).map { max(c.perStep[i * T + $0], 1e-12) }, color: color,
                        line: s.precision != .float32 ? .dotted : (s.rule == .midpoint ? .solid : .dashed),
                        lineWidth: 1.5))
            }
            panels.append(
                .lines(
                    title: "\(c.title): mean |truth − predicted| per step", x: Axis("optimizer step t (θ_t → θ_{t+1})"),
                    y: .log("mean absolute error"),
                    series: series, legend: .outsideRight))
        }
        return Figure(
            title: "EPK per-step replication error over each case's steps", width: 1400,
            height: 520 * max(1, data.count),
            columns: 1, panels: panels)
    }
}
