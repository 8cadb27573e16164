import Artifacts
import Foundation

/// `swap-aligned` as `plot` and `report` see it: its figures and report rules (docs/METHOD.md §16).
public enum SwapAlignedExperiment: ExperimentArtifact {
    public static let kind = ArtifactKind.swapAligned
    public static var figures: [FigureRecipe] { SwapAlignedFigures.all }

    /// Accuracy counted as "recovered" by a spliced or step-i model.
    static let swapRecovered = 0.9

    /// `swap-aligned` (docs/METHOD.md §16). Rows: the final model's accuracy, the step grid, the first step at which the
    /// step-i model reaches 90 %, and per keep-list the first step at which the spliced model does, its largest
    /// accuracy gain over the step-i model, and its accuracy at the first step.
    ///
    /// Claims, on the "Emb.+Lin2+Dec." keep-list (the paper's outer layers; the first list otherwise); both are
    /// undecided unless the final model reaches ≥ 99 % (a run that did not grok has no aligned outer layers) and
    /// the grid has ≥ 10 steps:
    /// - "recovers accuracy only late in training": the spliced accuracy stays < 0.5 at every step of the first
    ///   half of training and reaches 90 % at some step;
    /// - docs/METHOD.md §16 interpretation ("final outer layers placed around earlier pipelines reveal when the pipeline
    ///   became usable"): the spliced model reaches 90 % at an earlier grid step than the step-i model itself.
    public static func summarize(_ file: HDF5File) throws -> ReportSummary {
        let r = ReportReader(file: file)
        var rows: [(String, String)] = [
            ReportRows.row("final model validation accuracy") {
                String(format: "%.4f", try r.double("final_accuracy"))
            },
            ReportRows.row("steps i") {
                let s = try r.vector("steps")
                guard let first = s.first, let last = s.last else { return "none" }
                return "\(s.count) steps, \(Int(first)) … \(Int(last))"
            },
            ReportRows.row("step-i model reaches 90 %") {
                let s = try r.vector("steps"), a = try r.vector("step_accuracy")
                return firstStep(steps: s, accuracy: a, atLeast: swapRecovered).map { "at step \($0)" } ?? "never"
            },
        ]
        rows += ReportRows.rows("keep-lists") {
            let variants = try r.json("variants", as: [String].self)
            return variants.indices.map { v in
                ReportRows.row("kept from final: \(variants[v])") { try swapVariantRow(r, variant: v) }
            }
        }
        return ReportSummary(rows: rows, claims: swapClaims(r))
    }

    /// The first grid step with accuracy ≥ `threshold`.
    static func firstStep(steps: [Double], accuracy: [Double], atLeast threshold: Double) -> Int? {
        zip(steps, accuracy).first { $0.1 >= threshold }.map { Int($0.0) }
    }

    /// Spliced accuracy of keep-list `v` per step, with the steps and the step-i accuracy.
    static func swapSeries(
        _ r: ReportReader, variant v: Int
    ) throws -> (steps: [Double], spliced: [Double], step: [Double]) {
        let steps = try r.vector("steps"), step = try r.vector("step_accuracy"),
            spliced = try r.array("spliced_accuracy", rank: 2)
        let S = steps.count
        guard spliced.shape[1] == S, step.count == S, v < spliced.shape[0] else {
            throw ReportMissing(description: "/spliced_accuracy has shape \(spliced.shape) for \(S) steps")
        }
        return (steps, Array(spliced.values[(v * S)..<((v + 1) * S)]), step)
    }

    /// "90 % from step 850; largest gain +0.119 at step 650 (0.289 vs 0.170); 0.008 at step 0".
    static func swapVariantRow(_ r: ReportReader, variant v: Int) throws -> String {
        let s = try swapSeries(r, variant: v)
        guard !s.steps.isEmpty else { return "no steps" }
        let gain = s.steps.indices.max { s.spliced[$0] - s.step[$0] < s.spliced[$1] - s.step[$1] }!
        return
            (firstStep(steps: s.steps, accuracy: s.spliced, atLeast: swapRecovered).map { "90 % from step \($0)" }
            ?? "never 90 %")
            + String(
                format: "; largest gain over the step-i model %+.3f at step %d (%.3f vs %.3f); %.3f at step %d",
                s.spliced[gain] - s.step[gain], Int(s.steps[gain]), s.spliced[gain], s.step[gain], s.spliced[0],
                Int(s.steps[0]))
    }

    /// The two swap claims (rules on `summarize`).
    static func swapClaims(_ r: ReportReader) -> [Claim] {
        /// The outer-layer keep-list's series, its label, and why the run cannot decide (nil when it can).
        func setup() throws -> (
            label: String, series: (steps: [Double], spliced: [Double], step: [Double]), T: Double, undecided: String?
        ) {
            let variants = try r.json("variants", as: [String].self)
            let v = variants.firstIndex(of: "Emb.+Lin2+Dec.") ?? 0
            guard v < variants.count else { throw ReportMissing(description: "no keep-lists") }
            let s = try swapSeries(r, variant: v), final = try r.double("final_accuracy")
            let T = (try? r.double("step_count")) ?? ((s.steps.last ?? 0) + 1)
            let undecided =
                final < 0.99
                ? String(format: "the final model has %.3f validation accuracy (did not grok)", final)
                : s.steps.count < 10 ? "only \(s.steps.count) steps on the grid" : nil
            return (variants[v], s, T, undecided)
        }
        let late = ReportRows.claim("swapping in the final outer layers recovers accuracy only late in training") {
            let x = try setup()
            let early = x.series.steps.indices.filter { x.series.steps[$0] < x.T / 2 }
            let earlyMax = early.map { x.series.spliced[$0] }.max() ?? .nan
            let recovered = firstStep(steps: x.series.steps, accuracy: x.series.spliced, atLeast: swapRecovered)
            let evidence =
                String(format: "%@: at most %.3f before step %d (half of training), ", x.label, earlyMax, Int(x.T / 2))
                + (recovered.map { "90 % from step \($0)" } ?? "never 90 %")
            if let why = x.undecided { return (nil, why + "; " + evidence) }
            return (!early.isEmpty && earlyMax < 0.5 && recovered != nil, evidence)
        }
        let usable = ReportRows.claim(
            "final outer layers around an earlier pipeline reveal it usable before the step-i model is accurate"
        ) {
            let x = try setup()
            let spliced = firstStep(steps: x.series.steps, accuracy: x.series.spliced, atLeast: swapRecovered)
            let own = firstStep(steps: x.series.steps, accuracy: x.series.step, atLeast: swapRecovered)
            let gain = x.series.steps.indices.max {
                x.series.spliced[$0] - x.series.step[$0] < x.series.spliced[$1] - x.series.step[$1]
            }
            func reach(_ step: Int?) -> String { step.map { "reaches 90 % at step \($0)" } ?? "never reaches 90 %" }
            let evidence =
                "\(x.label) \(reach(spliced)); the step-i model \(reach(own))"
                + (gain.map {
                    String(
                        format: "; largest gain %+.3f at step %d", x.series.spliced[$0] - x.series.step[$0],
                        Int(x.series.steps[$0]))
                } ?? "")
            if let why = x.undecided { return (nil, why + "; " + evidence) }
            guard let a = spliced else { return (false, evidence) }
            return (own.map { a < $0 } ?? true, evidence)
        }
        return [late, usable]
    }
}
