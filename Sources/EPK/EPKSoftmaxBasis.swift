import Foundation
import History
import NN
import Tensor

extension EPKEngine {
    // MARK: - Rank-(C−1) softmax basis

    /// Whether a test point's S rows are cheaper through the softmax basis: C − 1 backward rows instead of S.
    func usesSoftmaxBasis(classesPerTest: Int) -> Bool {
        softmaxBasisEnabled && model.classCount >= 2 && classesPerTest > model.classCount - 1
    }

    /// The log-softmax Jacobian has rank C − 1, so the C rows ∇_θ log p_c of a test point are combinations of C − 1
    /// backward passes. A cotangent u on the log-probabilities reaches the logits as u − p·Σu, so the basis seed
    /// u_c = e_c − e_m (Σ = 0) is the logit seed e_c − e_m, and the wanted logit seed e_c − p is
    /// (e_c − e_m) − Σ_{k≠m} p_k (e_k − e_m). Hence, with D_c the backward result of seed u_c (D_m = 0),
    ///     row_c = D_c − Σ_{k≠m} p_k D_k,
    /// which holds for per-sample gradients and per-sample dot products alike because both are linear in the seed.
    /// The reference class m is the most probable one at the step's start, so no coefficient 1 − p_m ≈ 0 is
    /// formed by cancellation; p at each node comes from the basis rows' own forward passes. For C = 2 this halves
    /// the backward passes of all-class rows.
    struct SoftmaxBasis {
        let classCount: Int
        let reference: [Int]  // (nc) m_a
        let rowTest: [Int]  // (nc·(C−1)) test point of each basis row
        let rowClass: [Int]  // (nc·(C−1)) class c ≠ m_a of each basis row

        /// Basis rows with m_a = the most probable class at the step's start θ_t (`referenceOutputs`, (nc, C)
        /// log-probabilities). Within one step the top class rarely changes; where it does, no class is near
        /// probability 1, so the combination cannot cancel badly.
        init(referenceOutputs logp: [Float], classes C: Int) {
            classCount = C
            let nc = logp.count / C
            reference = (0..<nc).map { argmax(logp, row: $0, width: C) }
            var tests: [Int] = [], classes: [Int] = []
            for a in 0..<nc { for c in 0..<C where c != reference[a] { tests.append(a); classes.append(c) } }
            rowTest = tests; rowClass = classes
        }

        /// (nc, C) probabilities at the node from the log-probabilities the backward passes of the basis rows
        /// return ((Rb, C)): every basis row of test a carries the same forward pass, so its first row is used
        /// (no separate forward pass at the node).
        func probabilities(fromRowOutputs logp: [Float], testCount nc: Int) -> [Float] {
            let C = classCount
            var p = [Float](repeating: 0, count: nc * C)
            for a in 0..<nc { for c in 0..<C { p[a * C + c] = Foundation.exp(logp[a * (C - 1) * C + c]) } }
            return p
        }

        var rowCount: Int { rowTest.count }

        /// Basis row of (test a, class c ≠ m_a).
        func row(test a: Int, class c: Int) -> Int { a * (classCount - 1) + (c < reference[a] ? c : c - 1) }

        /// (rows, C) cotangents weight·(e_c − e_m) of the given basis rows.
        func cotangent(_ rows: Range<Int>, weight: Double) -> Tensor {
            let C = classCount
            var cot = Tensor(shape: [rows.count, C])
            for (i, r) in rows.enumerated() {
                cot.storage[i * C + rowClass[r]] = Float(weight)
                cot.storage[i * C + reference[rowTest[r]]] = -Float(weight)
            }
            return cot
        }
    }

    /// Runs the backward passes of all basis rows at one node, `rowsPerCall` rows per call, each part into the sink
    /// `sink(part)`, and returns the node's (nc, C) probabilities from the log-probabilities those passes return.
    func backwardBasisRows(
        _ basis: SoftmaxBasis, parameters theta: [Float], inputs: Tensor, weight: Double,
        rowsPerCall: Int, sink: (Range<Int>) -> GradientSink
    ) -> [Float] {
        let C = model.classCount, Rb = basis.rowCount
        var rowOutputs = [Float](repeating: 0, count: Rb * C)  // (Rb, C) log-probabilities at the node
        for part in stride(from: 0, to: Rb, by: rowsPerCall).map({ $0..<min(Rb, $0 + rowsPerCall) }) {
            let logp = model.backward(
                parameters: theta, inputs: inputs.gatherRows(Array(basis.rowTest[part])),
                outputGradients: basis.cotangent(part, weight: weight), into: sink(part))
            rowOutputs.replaceSubrange((part.lowerBound * C)..<(part.upperBound * C), with: logp.storage)
        }
        return basis.probabilities(fromRowOutputs: rowOutputs, testCount: inputs.shape[0])
    }

    /// Adds one node's per-sample dot products of the requested rows (R = nc·S, classes `rowClasses`) to `dots`
    /// (R, 2, K) through the softmax basis.
    func basisDots(
        _ basis: SoftmaxBasis, parameters theta: [Float], inputs: Tensor, weight: Double,
        directions: inout [Float], rowsPerCall: Int, rowClasses: [Int], classesPerTest S: Int,
        into dots: inout [Double]
    ) {
        let P = model.parameterCount, K = model.layout.components.count, C = model.classCount
        let Rb = basis.rowCount, width = 2 * K
        var basisDots = [Double](repeating: 0, count: Rb * width)  // (Rb, 2, K)
        let probabilities = directions.withMutablePointer { v in
            basisDots.withUnsafeMutableBufferPointer { out in
                backwardBasisRows(basis, parameters: theta, inputs: inputs, weight: weight, rowsPerCall: rowsPerCall) {
                    part in
                    .perSampleDot(
                        PerSampleDot(
                            directions: v, directionCount: 2, parameterCount: P,
                            out: out.baseAddress! + part.lowerBound * width, componentCount: K))
                }
            }
        }
        let nc = inputs.shape[0]
        var mixed = [Double](repeating: 0, count: width)  // Σ_{k≠m} p_k D_k
        for a in 0..<nc {
            for j in 0..<width { mixed[j] = 0 }
            for c in 0..<C where c != basis.reference[a] {
                let pk = Double(probabilities[a * C + c]), src = basis.row(test: a, class: c) * width
                for j in 0..<width { mixed[j] += pk * basisDots[src + j] }
            }
            for s in 0..<S {
                let r = a * S + s, c = rowClasses[r]
                let src = c == basis.reference[a] ? nil : basis.row(test: a, class: c) * width
                for j in 0..<width { dots[r * width + j] += (src.map { basisDots[$0 + j] } ?? 0) - mixed[j] }
            }
        }
    }

    /// Adds one node's test features of the requested rows (Ra = nc·Sa, classes `rowClasses`) to `phi` (Ra, P)
    /// through the softmax basis.
    func basisFeatures(
        _ basis: SoftmaxBasis, parameters theta: [Float], inputs: Tensor, weight: Double,
        rowsPerCall: Int, rowClasses: [Int], classesPerTest S: Int, into phi: inout [Float]
    ) {
        let P = model.parameterCount, C = model.classCount, Rb = basis.rowCount
        var rows = [Float](repeating: 0, count: Rb * P)  // (Rb, P) basis gradients D
        let probabilities = rows.withMutablePointer { d in
            backwardBasisRows(basis, parameters: theta, inputs: inputs, weight: weight, rowsPerCall: rowsPerCall) {
                part in
                .perSample(d + part.lowerBound * P, rowStride: P)
            }
        }
        let nc = inputs.shape[0]
        rows.withPointer { d in
            phi.withMutablePointer { ph in
                Parallel.forEachRange(nc) { tests in
                    let mixed = UnsafeMutablePointer<Float>.allocate(capacity: P)  // Σ_{k≠m} p_k D_k
                    defer { mixed.deallocate() }
                    for a in tests {
                        mixed.initialize(repeating: 0, count: P)
                        for c in 0..<C where c != basis.reference[a] {
                            Vector.addScaled(
                                d + basis.row(test: a, class: c) * P, probabilities[a * C + c], into: mixed, count: P)
                        }
                        for s in 0..<S {
                            let r = a * S + s, c = rowClasses[r], dst = ph + r * P
                            if c != basis.reference[a] {
                                Vector.addScaled(d + basis.row(test: a, class: c) * P, 1, into: dst, count: P)
                            }
                            Vector.addScaled(mixed, -1, into: dst, count: P)
                        }
                    }
                }
            }
        }
    }

}
