import Artifacts
import Foundation
import NN

/// Conjugate gradient for A x_d = b_d, d = 1…D, with A = H + shift·I symmetric positive definite (docs/METHOD.md §17).
///
/// The D recurrences are independent (one α, β per column), but each iteration applies H to all still-active
/// directions in one call, so a block Hessian-vector product serves every test point at once. A column stops when its
/// recursive residual ‖r_d‖/‖b_d‖ ≤ tolerance. After the loop the true residual ‖b_d − A x_d‖/‖b_d‖ is recomputed
/// with one more product; a solve that does not reach the tolerance, meets a direction with pᵀAp ≤ 0 (A not positive
/// definite: the damping does not cover H's negative curvature) or goes non-finite throws instead of returning.
public enum BatchedConjugateGradient {
    public struct Solution {
        public var x: ComponentMajorBlock
        /// Iterations of the slowest column.
        public var iterations: Int
        /// max_d ‖b_d − A x_d‖ / ‖b_d‖, recomputed from x after the loop.
        public var maxRelativeResidual: Double
        /// Block products of H computed (iterations + the final residual check).
        public var products: Int
    }

    /// `what` names the solve in messages ("influence"); `fix` says which config keys to change.
    public static func solve(
        _ b: ComponentMajorBlock, shift: Double, iterations: Int, tolerance: Double, what: String,
        fix: String, hessian: (ComponentMajorBlock) -> ComponentMajorBlock,
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> Solution {
        let D = b.count
        let bNorm = ComponentMajorBlock.dots(b, b).map { $0.squareRoot() }
        func apply(_ v: ComponentMajorBlock) -> ComponentMajorBlock {
            var out = hessian(v)
            out.update(adding: [(coefficients: [Float](repeating: Float(shift), count: v.count), block: v)])
            return out
        }
        var x = ComponentMajorBlock(layout: b.layout, count: D)
        // Working set: the columns not yet converged (zero right-hand sides are solved by x = 0).
        var active = (0..<D).filter { bNorm[$0] > 0 }
        var xw = ComponentMajorBlock(layout: b.layout, count: active.count), rw = b.gather(active), pw = rw
        var rr = ComponentMajorBlock.dots(rw, rw)
        var iteration = 0, products = 0
        while !active.isEmpty {
            let done = active.indices.filter { rr[$0].squareRoot() <= tolerance * bNorm[active[$0]] }
            if !done.isEmpty {
                x.scatter(xw.gather(done), to: done.map { active[$0] })
                let keep = active.indices.filter { !done.contains($0) }
                xw = xw.gather(keep); rw = rw.gather(keep); pw = pw.gather(keep)
                rr = keep.map { rr[$0] }; active = keep.map { active[$0] }
                if active.isEmpty { break }
            }
            guard iteration < iterations else {
                let worst = zip(rr, active).map { $0.squareRoot() / bNorm[$1] }.max() ?? 0
                throw ArtifactError(
                    .config,
                    "\(what): conjugate gradient did not converge in \(iterations) iteration\(iterations == 1 ? "" : "s") (\(active.count) of \(D) solves above tolerance \(format(tolerance)), max relative residual \(format(worst))); \(fix)"
                )
            }
            iteration += 1
            let Ap = apply(pw); products += 1
            let pAp = ComponentMajorBlock.dots(pw, Ap)
            if let bad = pAp.firstIndex(where: { !$0.isFinite || $0 <= 0 }) {
                if !pAp[bad].isFinite {
                    throw ArtifactError(
                        .config,
                        "\(what): conjugate gradient went non-finite at iteration \(iteration) (solve \(active[bad])); \(fix)"
                    )
                }
                let curvature = pAp[bad] / ComponentMajorBlock.dots(pw.gather([bad]), pw.gather([bad]))[0]
                throw ArtifactError(
                    .config,
                    "\(what): H + \(format(shift))·I is not positive definite (curvature pᵀAp/pᵀp = \(format(curvature)) at iteration \(iteration), solve \(active[bad])); the damping must exceed H's most negative eigenvalue: raise it"
                )
            }
            let alpha = zip(rr, pAp).map { Float($0 / $1) }
            xw.update(adding: [(coefficients: alpha, block: pw)])
            rw.update(adding: [(coefficients: alpha.map { -$0 }, block: Ap)])
            let rrNew = ComponentMajorBlock.dots(rw, rw)
            guard rrNew.allSatisfy(\.isFinite) else {
                throw ArtifactError(
                    .config, "\(what): conjugate gradient went non-finite at iteration \(iteration); \(fix)")
            }
            let beta = zip(rrNew, rr).map { Float($0 / $1) }
            var next = rw
            next.update(adding: [(coefficients: beta, block: pw)])
            pw = next; rr = rrNew
            progress?(iteration, active.count)
        }
        // The true residual of every column, from x itself.
        var residual = b
        if D > 0 {
            residual.update(adding: [(coefficients: [Float](repeating: -1, count: D), block: apply(x))]); products += 1
        }
        let worst =
            zip(ComponentMajorBlock.dots(residual, residual), bNorm).map { $1 > 0 ? $0.squareRoot() / $1 : 0 }.max()
            ?? 0
        guard worst.isFinite else { throw ArtifactError(.config, "\(what): the solution is non-finite; \(fix)") }
        return Solution(x: x, iterations: iteration, maxRelativeResidual: worst, products: products)
    }

    public static func format(_ v: Double) -> String { String(format: "%.3g", v) }
}
