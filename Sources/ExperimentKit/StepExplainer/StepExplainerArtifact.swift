import Analysis
import Artifacts
import Foundation

/// `step-explainer.h5` (kind "step-explainer"). W windows, S steps, G module groups, k convergence point counts:
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/{windows,steps}/{start,end,points,loss_start,loss_end,measured,predicted,residual}` | (W) / (S) f64 | per segment |
/// | `/{windows,steps}/total` | (·, G) f64 | Σ_{p∈group} s_p |
/// | `/{windows,steps}/{gradient,decay,batch,momentum}` | (·, G) f64 | the same with Δθ replaced by that part (NaN: not available) |
/// | `/{windows,steps}/relative_influence` | (·, G) f64 | \|S_m\| / Σ_m \|S_m\| |
/// | `/convergence/points` | (k) f64 | quadrature point counts |
/// | `/convergence/residual` | (C, k) f64 | \|Σ s_p − ΔL_E\| per segment and point count; attribute `labels` (JSON) |
/// | `/convergence/measured` | (C) f64 | ΔL_E of those segments |
///
/// Root attributes: `kind`, `groups` (JSON), `summary`, `history`, `config`, `wall_seconds`, provenance.
public enum StepExplainerArtifact {
    public static func write(
        _ r: StepExplainerResult, configJSON: String, historyPath: String, summary: String,
        seconds: Double, to path: String
    ) throws {
        try ArtifactFile.write(to: path, kind: StepExplainerDriver.kind, config: configJSON) { root in
            try root.setJSONAttribute("groups", r.groups)
            try root.setAttribute("summary", summary)
            try root.setAttribute("history", historyPath)
            try root.setAttribute("wall_seconds", seconds)
            let G = r.groups.count
            for (name, list) in [("windows", r.windows), ("steps", r.steps)] where !list.isEmpty {
                let g = try root.createGroup(name)
                func vector(_ n: String, _ f: (SegmentDecomposition) -> Double) throws {
                    _ = try g.write(n, list.map(f), shape: [list.count])
                }
                try vector("start") { Double($0.start) }
                try vector("end") { Double($0.end) }
                try vector("points") { Double($0.points) }
                try vector("loss_start") { $0.lossStart }
                try vector("loss_end") { $0.lossEnd }
                try vector("measured") { $0.measured }
                try vector("predicted") { $0.predicted }
                try vector("residual") { $0.residual }
                func matrix(_ n: String, _ f: (SegmentDecomposition) -> [Double]) throws {
                    let d = try g.write(n, list.flatMap(f), shape: [list.count, G])
                    try d.setAttribute("axes", "segment × module group")
                }
                try matrix("total") { $0.total }
                try matrix("gradient") { $0.gradient }
                try matrix("decay") { $0.decay }
                try matrix("batch") { $0.batch }
                try matrix("momentum") { $0.momentum }
                try matrix("relative_influence") { $0.relativeInfluence }
            }
            if !r.convergenceLabels.isEmpty {
                let c = try root.createGroup("convergence")
                _ = try c.write("points", r.convergencePoints.map(Double.init), shape: [r.convergencePoints.count])
                let d = try c.write(
                    "residual", r.convergenceResiduals.flatMap { $0 },
                    shape: [r.convergenceLabels.count, r.convergencePoints.count])
                try d.setJSONAttribute("labels", r.convergenceLabels)
                _ = try c.write("measured", r.convergenceMeasured, shape: [r.convergenceMeasured.count])
            }
        }
    }
}
