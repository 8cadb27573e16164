import Foundation
import History
import NN
import Tensor

extension EPKEngine {
    /// How the validation rows' dot products φ_t·[Δθ_t; ρ_t] per component are formed.
    enum DotPath {
        /// One per-sample-dot backward pass per row (φ_t is never formed).
        case perSampleDots
        /// Per-sample dots of the C − 1 softmax-basis rows, combined per class (`SoftmaxBasis`).
        case softmaxBasis
        /// The rows are the attribution rows, whose φ_t is materialised anyway: contract it directly.
        case contractFeatures
    }

    /// How the attribution rows' test features φ_t (Ra, P) are materialised for data and parameter attribution.
    enum FeaturePath {
        /// Not needed (no data or parameter attribution).
        case none
        /// One per-sample backward row per attribution row.
        case perSample
        /// Per-sample rows of the softmax basis, combined per class.
        case softmaxBasis
    }

    /// Rows of one chunk: validation rows (every selected class, contracted by dot products) and attribution rows
    /// (the classes whose test features φ are materialised for data and parameter attribution).
    struct ChunkRows {
        let inputs: Tensor  // (nc, ...) test inputs of the chunk
        let rowInputs: Tensor  // (R, ...) inputs replicated per validation row
        let rowClasses: [Int]  // (R) R = nc·S
        let classesPerTest: Int  // S
        let attributionInputs: Tensor  // (Ra, ...)
        let attributionClasses: [Int]  // (Ra) Ra = nc·Sa
        let attributionClassesPerTest: Int  // Sa
        let focusRow: [Int]  // (nc) validation row of each test point's focus class

        init(
            inputs: Tensor, rowClasses: [Int], classesPerTest S: Int, attributionClasses: [Int],
            attributionClassesPerTest Sa: Int, focusRow: [Int]
        ) {
            self.inputs = inputs; self.rowClasses = rowClasses; classesPerTest = S
            self.attributionClasses = attributionClasses; attributionClassesPerTest = Sa; self.focusRow = focusRow
            rowInputs = inputs.gatherRows((0..<rowClasses.count).map { $0 / S })
            attributionInputs = inputs.gatherRows((0..<attributionClasses.count).map { $0 / Sa })
        }

        /// The rows of the given test points (chunk-local indices), in that order.
        func subset(_ tests: [Int]) -> ChunkRows {
            let S = classesPerTest, Sa = attributionClassesPerTest
            return ChunkRows(
                inputs: inputs.gatherRows(tests), rowClasses: tests.flatMap { rowClasses[($0 * S)..<($0 * S + S)] },
                classesPerTest: S,
                attributionClasses: tests.flatMap { attributionClasses[($0 * Sa)..<($0 * Sa + Sa)] },
                attributionClassesPerTest: Sa, focusRow: [])
        }
    }

    /// One step's fixed quantities for its integral: the endpoints θ_t, θ_{t+1}, the directions Δθ_t and ρ_t, and
    /// how the rows are formed.
    struct StepIntegral {
        let thetaT: [Float], thetaNext: [Float]
        let delta: [Float], rho: [Float]  // (P) Δθ_t, ρ_t
        let dotPath: DotPath
        let featurePath: FeaturePath
        let rowsPerCall: Int
    }

    // MARK: - One step's integral

    /// Adds the integral of one step over `nodes` for the test points of `rows` (their step-start outputs `outputs`,
    /// (nc, C)): the per-row dot products of φ_t with [Δθ_t; ρ_t] into `dots` (R, 2, K), and φ_t itself into `phi`
    /// (Ra, P) when features are needed. φ_t = Σ_i w_i J(θ_t + α_i Δθ_t) is formed only for the attribution rows.
    func integrate(
        _ step: StepIntegral, rows: ChunkRows, outputs: [Float], nodes: QuadratureNodes,
        directions: inout [Float], dots: inout [Double], phi: inout [Float]
    ) {
        let P = model.parameterCount, C = model.classCount, K = model.layout.components.count
        let S = rows.classesPerTest, R = rows.rowClasses.count, Ra = rows.attributionClasses.count
        let basis =
            step.dotPath == .softmaxBasis || step.featurePath == .softmaxBasis
            ? SoftmaxBasis(referenceOutputs: outputs, classes: C) : nil
        let rowsPerCall = step.rowsPerCall
        var theta = [Float](repeating: 0, count: P)  // (P) θ_t + αΔθ_t
        for (alpha, weight) in zip(nodes.nodes, nodes.weights) {
            step.thetaT.withPointer { t0 in
                step.thetaNext.withPointer { t1 in
                    theta.withMutablePointer {
                        Vector.interpolate(t0, t1, Float(alpha), $0, count: P)
                    }
                }
            }
            // Validation rows: total_k = φ_t[k]·Δθ_t[k] and reg_k = −η_t φ_t[k]·ρ_t[k] as per-sample dot products with
            // [Δθ_t; ρ_t] (φ_t is never formed for them).
            switch step.dotPath {
            case .softmaxBasis:
                basisDots(
                    basis!, parameters: theta, inputs: rows.inputs, weight: weight, directions: &directions,
                    rowsPerCall: rowsPerCall, rowClasses: rows.rowClasses, classesPerTest: S, into: &dots)
            case .perSampleDots:
                for part in stride(from: 0, to: R, by: rowsPerCall).map({ $0..<min(R, $0 + rowsPerCall) }) {
                    let cot = cotangent(part, classes: rows.rowClasses, weight: weight)
                    directions.withMutablePointer { v in
                        dots.withUnsafeMutableBufferPointer { out in
                            _ = model.backward(
                                parameters: theta, inputs: rows.rowInputs.rows(part), outputGradients: cot,
                                into: .perSampleDot(
                                    PerSampleDot(
                                        directions: v, directionCount: 2, parameterCount: P,
                                        out: out.baseAddress! + part.lowerBound * 2 * K, componentCount: K)))
                        }
                    }
                }
            case .contractFeatures:
                break  // after the nodes, from φ_t
            }
            // Attribution rows: materialise φ_t (Ra, P) for data and parameter attribution.
            switch step.featurePath {
            case .softmaxBasis:
                basisFeatures(
                    basis!, parameters: theta, inputs: rows.inputs, weight: weight, rowsPerCall: rowsPerCall,
                    rowClasses: rows.attributionClasses, classesPerTest: rows.attributionClassesPerTest,
                    into: &phi)
            case .perSample:
                for part in stride(from: 0, to: Ra, by: rowsPerCall).map({ $0..<min(Ra, $0 + rowsPerCall) }) {
                    let cot = cotangent(part, classes: rows.attributionClasses, weight: weight)
                    phi.withMutablePointer {
                        _ = model.backward(
                            parameters: theta, inputs: rows.attributionInputs.rows(part),
                            outputGradients: cot, into: .perSample($0 + part.lowerBound * P, rowStride: P))
                    }
                }
            case .none:
                break
            }
        }

        // When the attribution rows are the validation rows, φ_t is already materialised: contract it with
        // Δθ_t and ρ_t directly (saves one backward pass per row and node).
        if step.dotPath == .contractFeatures {
            let components = model.layout.components
            phi.withPointer { ph in
                step.delta.withPointer { d in
                    step.rho.withPointer { rh in
                        dots.withUnsafeMutableBufferPointer { out in
                            Parallel.forEachRange(R) { range in
                                for r in range {
                                    let row = ph + r * P
                                    for (k, component) in components.enumerated() {
                                        var sd = 0.0, sr = 0.0
                                        for p in component.range {
                                            sd += Double(row[p] * d[p]); sr += Double(row[p] * rh[p])
                                        }
                                        out[(r * 2) * K + k] += sd
                                        out[(r * 2 + 1) * K + k] += sr
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Residual-driven refinement (`QuadratureRefinement`): while a test point's step residual
    /// max_s |Σ_k φ_t[k]·Δθ_t[k] − truth| exceeds its tolerance (`tolerances`, (nc)), its integral for this step is
    /// recomputed with three times the points (Σ_{3n} = keep·Σ_n + Σ_added), replacing its rows of `dots` and `phi`;
    /// `points` (nc) records the rule each test point ends with. Stops at the last rule within `maxPoints`.
    func refine(
        _ step: StepIntegral, maxPoints: Int, tolerances: [Double], rows: ChunkRows, outputs: [Float], basePoints: Int,
        truth: [Float], directions: inout [Float], dots: inout [Double], phi: inout [Float], points: inout [Int32]
    ) {
        let P = model.parameterCount, C = model.classCount, K = model.layout.components.count
        let S = rows.classesPerTest, Sa = rows.attributionClassesPerTest, width = 2 * K
        func residual(_ a: Int) -> Double {
            (0..<S).map { s in
                let r = a * S + s
                return abs((0..<K).reduce(0.0) { $0 + dots[r * width + $1] } - Double(truth[r]))
            }.max() ?? 0
        }
        var n = basePoints
        var pending = (0..<(rows.rowClasses.count / S)).filter { residual($0) > tolerances[$0] }
        while !pending.isEmpty && 3 * n <= maxPoints {
            let (keep, added) = QuadratureNodes.tripling(rule: options.quadrature.rule, points: n)
            let sub = rows.subset(pending)
            var subDots = [Double](repeating: 0, count: pending.count * S * width)
            var subPhi = [Float](repeating: 0, count: step.featurePath != .none ? pending.count * Sa * P : 0)
            let subOutputs = pending.flatMap { outputs[($0 * C)..<($0 * C + C)] }
            integrate(
                step, rows: sub, outputs: subOutputs, nodes: added, directions: &directions, dots: &subDots,
                phi: &subPhi)
            n *= 3
            for (i, a) in pending.enumerated() {
                for j in 0..<(S * width) {
                    dots[a * S * width + j] = keep * dots[a * S * width + j] + subDots[i * S * width + j]
                }
                if step.featurePath != .none {
                    phi.withMutablePointer { ph in
                        subPhi.withPointer { sp in
                            let dst = ph + a * Sa * P, src = sp + i * Sa * P
                            for p in 0..<(Sa * P) { dst[p] = Float(keep) * dst[p] + src[p] }
                        }
                    }
                }
                points[a] = Int32(n)
            }
            pending = pending.filter { residual($0) > tolerances[$0] }
        }
    }

    // MARK: - Pieces

    /// (rows, C) one-hot cotangent at each row's class, scaled by the quadrature weight.
    func cotangent(_ rows: Range<Int>, classes: [Int], weight: Double) -> Tensor {
        let C = model.classCount
        var cot = Tensor(shape: [rows.count, C])
        for (i, r) in rows.enumerated() { cot.storage[i * C + classes[r]] = Float(weight) }
        return cot
    }
}
