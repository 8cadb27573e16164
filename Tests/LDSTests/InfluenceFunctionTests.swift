import Artifacts
import Tensor
import XCTest

@testable import Analysis
@testable import ExperimentKit
@testable import NN

/// Influence functions: the R-operator Hessian-vector product against finite differences of an independent Float64
/// gradient, and the CG estimate against the explicit damped inverse Hessian, on a 3-layer ReLU MLP with P = 151.
final class InfluenceFunctionTests: XCTestCase {
    /// 6 → 8 → ReLU → 7 → ReLU → 4 → log-softmax.
    static func tinyModel() throws -> SpecModel {
        func linear(_ out: Int) -> LayerSpec { var l = LayerSpec(kind: "linear"); l.outFeatures = out; return l }
        return try SpecModel(
            ModelSpec(
                inputShape: [6],
                layers: [
                    linear(8), LayerSpec(kind: "relu"), linear(7),
                    LayerSpec(kind: "relu"), linear(4), LayerSpec(kind: "log_softmax"),
                ]))
    }

    struct Setup {
        let model: SpecModel, mlp: ReLUMLP, theta: [Float]
        let train: Tensor, trainLabels: [Int], test: Tensor, testLabels: [Int]
    }

    static func setup() throws -> Setup {
        let model = try tinyModel()
        var rng = RNG(seed: 11)
        var theta = model.initialParameters(rng: &rng)
        func inputs(_ k: Int) -> Tensor {
            var t = Tensor(shape: [k, 6])
            for i in t.storage.indices { t.storage[i] = Float(rng.normal()) }
            return t
        }
        let train = inputs(30), test = inputs(3)
        let trainLabels = (0..<30).map { ($0 * 7 + 3) % 4 }, testLabels = [0, 2, 3]
        guard case .success(let mlp) = ReLUMLP.of(model) else { throw XCTSkip("not an MLP") }
        // 3000 full-batch gradient steps (with the weight decay the tests use): near a minimum H is close to PSD.
        for _ in 0..<3000 {
            let g = model.lossAndGradient(parameters: theta, inputs: train, labels: trainLabels).gradient
            for p in theta.indices { theta[p] -= 0.5 * (g[p] + 0.01 * theta[p]) }
        }
        return Setup(
            model: model, mlp: mlp, theta: theta, train: train, trainLabels: trainLabels, test: test,
            testLabels: testLabels)
    }

    /// ∇_θ [(1/n) Σ_i −log p_{y_i}(x_i) + (wd/2)‖θ‖²] in Float64, by plain loops (independent of the library's layers).
    static func gradient(_ mlp: ReLUMLP, _ theta: [Double], _ x: Tensor, _ y: [Int], wd: Double) -> [Double] {
        var grad = theta.map { wd * $0 }
        let n = y.count
        for i in 0..<n {
            var acts: [[Double]] = [(0..<mlp.inputFeatures).map { Double(x.storage[i * mlp.inputFeatures + $0]) }],
                pre: [[Double]] = []
            for l in mlp.layers {
                let a = acts.last!
                let z = (0..<l.outFeatures).map { o in
                    (0..<l.inFeatures).reduce(l.bias.map { theta[$0.offset + o] } ?? 0) {
                        $0 + theta[l.weight.offset + o * l.inFeatures + $1] * a[$1]
                    }
                }
                pre.append(z); acts.append(l.relu ? z.map { max($0, 0) } : z)
            }
            let logits = acts.last!, m = logits.max()!
            let s = logits.reduce(0) { $0 + exp($1 - m) }
            var delta = logits.enumerated().map { c, v in (exp(v - m) / s - (c == y[i] ? 1 : 0)) / Double(n) }
            for (k, l) in mlp.layers.enumerated().reversed() {
                if l.relu { for o in 0..<l.outFeatures where pre[k][o] <= 0 { delta[o] = 0 } }
                var below = [Double](repeating: 0, count: l.inFeatures)
                for o in 0..<l.outFeatures {
                    if let b = l.bias { grad[b.offset + o] += delta[o] }
                    for j in 0..<l.inFeatures {
                        grad[l.weight.offset + o * l.inFeatures + j] += delta[o] * acts[k][j]
                        below[j] += delta[o] * theta[l.weight.offset + o * l.inFeatures + j]
                    }
                }
                delta = below
            }
        }
        return grad
    }

    /// H v by central differences of the Float64 gradient.
    static func finiteDifferenceHVP(_ s: Setup, _ v: [Double], wd: Double, h: Double = 1e-5) -> [Double] {
        let t = s.theta.map(Double.init)
        let plus = gradient(s.mlp, zip(t, v).map { $0 + h * $1 }, s.train, s.trainLabels, wd: wd)
        let minus = gradient(s.mlp, zip(t, v).map { $0 - h * $1 }, s.train, s.trainLabels, wd: wd)
        return zip(plus, minus).map { ($0 - $1) / (2 * h) }
    }

    func testHessianVectorProductMatchesFiniteDifferences() throws {
        let s = try Self.setup()
        let P = s.model.parameterCount, D = 3
        XCTAssertEqual(P, 151)
        var rng = RNG(seed: 5)
        let v = (0..<(D * P)).map { _ in Float(rng.normal()) }
        let hessian = MLPHessian(
            mlp: s.mlp, parameters: s.theta, inputs: s.train, labels: s.trainLabels, weightDecay: 0.01)
        var small = hessian
        small.chunkFloats = 50  // several row chunks: the chunk sums must add up to the same product
        for h in [hessian, small] {
            let hv = h.product(ComponentMajorBlock(rows: v, count: D, layout: s.model.layout)).rows()
            for d in 0..<D {
                let fd = Self.finiteDifferenceHVP(s, v[(d * P)..<((d + 1) * P)].map(Double.init), wd: 0.01)
                let got = hv[(d * P)..<((d + 1) * P)].map(Double.init)
                let err = zip(got, fd).map { abs($0 - $1) }.max()!, scale = fd.map(abs).max()!
                XCTAssertGreaterThan(scale, 0.1)
                XCTAssertLessThan(err / scale, 1e-4, "direction \(d)")
            }
        }
        // MNISTMLP and its spec form have the same structure.
        let spec = try SpecModel(
            StrictConfig.decode(
                ModelSpec.self,
                from: Data(
                    """
                    {"input_shape": [784], "layers": [{"kind": "linear", "name": "fc1", "out_features": 128}, {"kind": "relu"},
                     {"kind": "linear", "name": "fc2", "out_features": 10}, {"kind": "log_softmax"}]}
                    """.utf8), source: "spec"))
        guard case .success(let a) = ReLUMLP.of(MNISTMLP()), case .success(let b) = ReLUMLP.of(spec) else {
            return XCTFail("not MLPs")
        }
        XCTAssertEqual(a.layers.map(\.weight), b.layers.map(\.weight))
        XCTAssertEqual(a.layers.map(\.relu), [true, false]); XCTAssertEqual(b.layers.map(\.relu), [true, false])
    }

    func testInfluenceMatchesTheExplicitDampedInverseHessian() throws {
        let s = try Self.setup()
        let P = s.model.parameterCount, n = 3, N = 30, wd = 0.01
        // Explicit H column by column, symmetrised, plus (λ) I; the solve is a Float64 Cholesky factorisation.
        var H = [Double](repeating: 0, count: P * P)
        for k in 0..<P {
            var e = [Double](repeating: 0, count: P); e[k] = 1
            let column = Self.finiteDifferenceHVP(s, e, wd: wd)
            for i in 0..<P { H[i * P + k] += column[i] / 2; H[k * P + i] += column[i] / 2 }
        }
        // H + λI must be positive definite. The trained θ is near a minimum, but how negative H's smallest eigenvalue
        // is depends on the float32 training run (BLAS kernels round differently on other CPUs), so λ starts at 0.02
        // and doubles until the factorisation exists.
        var damping = 0.02, factor: [Double]?
        while factor == nil && damping <= 0.64 {
            var A = H
            for i in 0..<P { A[i * P + i] += damping }
            factor = Self.cholesky(A, P)
            if factor == nil { damping *= 2 }
        }
        let L = try XCTUnwrap(factor, "H + λI is not positive definite for any λ ≤ 0.64")
        func perSample(_ x: Tensor, _ y: [Int]) -> [[Double]] {
            (0..<y.count).map { i in
                // ∇ log p_y
                Self.gradient(s.mlp, s.theta.map(Double.init), x.rows(i..<(i + 1)), [y[i]], wd: 0).map { -$0 }
            }
        }
        let gt = perSample(s.test, s.testLabels), gr = perSample(s.train, s.trainLabels)
        let exact = gt.map { g in
            let u = Self.choleskySolve(L, g, P)
            return gr.map { gj in zip(u, gj).reduce(0) { $0 + $1.0 * $1.1 } }
        }
        let method = try InfluenceFunction(
            model: s.model, config: InfluenceConfig(damping: damping, cgIterations: 400, cgTolerance: 1e-5),
            weightDecay: wd)
        let report = try method.scores(
            parameters: s.theta, testInputs: s.test, testLabels: s.testLabels, trainInputs: s.train,
            trainLabels: s.trainLabels, chunk: 7)
        XCTAssertLessThanOrEqual(report.maxRelativeResidual, 1e-5)
        XCTAssertGreaterThan(report.iterations, 5)
        for a in 0..<n {
            let scale = exact[a].map(abs).max()!
            XCTAssertGreaterThan(scale, 1e-3)
            for j in 0..<N {
                XCTAssertEqual(Double(report.scores[a * N + j]), exact[a][j], accuracy: 1e-4 * scale, "τ(\(a), \(j))")
            }
        }
        // Without the inverse Hessian the ranking differs: the test would not pass with grad-dot scores.
        let dot = gt[0].indices.reduce(0.0) { $0 + gt[0][$1] * gr[0][$1] }
        XCTAssertGreaterThan(abs(dot - exact[0][0]), 1e-3 * scale(exact[0]))
    }

    private func scale(_ v: [Double]) -> Double { v.map(abs).max()! }

    func testSolveThatDoesNotConvergeIsRefused() throws {
        let s = try Self.setup()
        let config = InfluenceConfig(damping: 1e-4, cgIterations: 1, cgTolerance: 1e-6)
        let method = try InfluenceFunction(model: s.model, config: config, weightDecay: 0)
        XCTAssertThrowsError(
            try method.scores(
                parameters: s.theta, testInputs: s.test, testLabels: s.testLabels,
                trainInputs: s.train, trainLabels: s.trainLabels)
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(
                text.hasPrefix(
                    "influence: conjugate gradient did not converge in 1 iteration (3 of 3 solves above tolerance 1e-06, max relative residual "
                ), text)
            XCTAssertTrue(
                text.hasSuffix("; raise 'influence.cg_iterations', 'influence.damping' or 'influence.cg_tolerance'"),
                text)
            XCTAssertFalse(text.contains("\n"))
        }
    }

    /// The solver alone on diagonal operators: exact answers, non-convergence, indefiniteness and NaN are reported.
    func testBatchedConjugateGradientOnDiagonalOperators() throws {
        var layout = ParameterLayout(); layout.add("a", [3, 4]); layout.add("b", [5])
        let P = layout.count, D = 2
        let diagonal = (0..<P).map { Float(pow(10, -3 + 3 * Double($0) / Double(P - 1))) }  // 1e-3 … 1
        let rows = (0..<(D * P)).map { Float(($0 * 37) % 11) - 5 }
        let b = ComponentMajorBlock(rows: rows, count: D, layout: layout)
        XCTAssertEqual(b.rows(), rows)
        func operatorTimes(_ scale: [Float]) -> (ComponentMajorBlock) -> ComponentMajorBlock {
            { v in
                let r = v.rows()
                return ComponentMajorBlock(
                    rows: r.indices.map { r[$0] * scale[$0 % P] }, count: v.count, layout: layout)
            }
        }
        let solution = try BatchedConjugateGradient.solve(
            b, shift: 1e-3, iterations: 100, tolerance: 1e-6, what: "test", fix: "fix it",
            hessian: operatorTimes(diagonal))
        let x = solution.x.rows()
        for i in 0..<(D * P) {
            XCTAssertEqual(
                Double(x[i]), Double(rows[i]) / (Double(diagonal[i % P]) + 1e-3),
                accuracy: 1e-3 * abs(Double(x[i])) + 1e-4)
        }
        XCTAssertLessThanOrEqual(solution.maxRelativeResidual, 1e-5)
        XCTAssertGreaterThan(solution.iterations, 5)

        XCTAssertThrowsError(
            try BatchedConjugateGradient.solve(
                b, shift: 0, iterations: 2, tolerance: 1e-6, what: "test", fix: "fix it",
                hessian: operatorTimes(diagonal))
        ) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "test: conjugate gradient did not converge in 2 iterations (2 of 2 solves above tolerance 1e-06, max relative residual "
                ), "\(error)")
        }
        XCTAssertThrowsError(
            try BatchedConjugateGradient.solve(
                b, shift: 0.5, iterations: 10, tolerance: 1e-6, what: "test", fix: "fix it",
                hessian: operatorTimes(diagonal.map { _ in -1 }))
        ) { error in
            XCTAssertEqual(
                "\(error)",
                "test: H + 0.5·I is not positive definite (curvature pᵀAp/pᵀp = -0.5 at iteration 1, solve 0); the damping must exceed H's most negative eigenvalue: raise it"
            )
        }
        XCTAssertThrowsError(
            try BatchedConjugateGradient.solve(
                b, shift: 0, iterations: 10, tolerance: 1e-6, what: "test", fix: "fix it",
                hessian: operatorTimes(diagonal.map { _ in .nan }))
        ) { error in
            XCTAssertEqual("\(error)", "test: conjugate gradient went non-finite at iteration 1 (solve 0); fix it")
        }
    }

    func testBadInfluenceConfigsAndModelsGiveOneLineErrors() throws {
        func message(_ influence: String) -> String {
            let json = """
                {"run": "x", "train_config": "t.json", "history": "h.h5", "subset_count": 3, "subset_fraction": 0.5, "subset_seed": 0,
                 "test_count": 2, "quadrature": {"rule": "midpoint", "points": 2}, "early_cut": 1, "tracin_interval": 1,
                 "bootstrap_resamples": 10, "bootstrap_seed": 0, "random_seed": 0, "memory_budget_gb": 1, "influence": \(influence)}
                """
            do {
                _ = try StrictConfig.decode(LDSConfig.self, from: Data(json.utf8), source: "lds.json");
                return "accepted"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(message(#"{"damping": 0.001, "cg_iterations": 100, "cg_tolerance": 1e-4}"#), "accepted")
        XCTAssertEqual(
            message(#"{"damping": -1, "cg_iterations": 100, "cg_tolerance": 1e-4}"#),
            "lds.json: key 'influence.damping': expected a non-negative number, found -1")
        XCTAssertEqual(
            message(#"{"damping": 0.001, "cg_iterations": 0, "cg_tolerance": 1e-4}"#),
            "lds.json: key 'influence.cg_iterations': expected a positive integer, found 0")
        XCTAssertEqual(
            message(#"{"damping": 0.001, "cg_iterations": 10, "cg_tolerance": 2}"#),
            "lds.json: key 'influence.cg_tolerance': expected a number in (0, 1), found 2")
        XCTAssertEqual(
            message(#"{"damping": 0.001, "cg_iters": 10, "cg_tolerance": 0.1}"#),
            "lds.json: missing required key 'influence.cg_iterations' (the object has keys: cg_iters, cg_tolerance, damping)"
        )
        XCTAssertEqual(
            message(#"{"damping": 0.001, "cg_iterations": 10, "cg_tolerance": 0.1, "solver": "lissa"}"#),
            "lds.json: unknown key 'influence.solver' (expected one of: cg_iterations, cg_tolerance, damping)")

        var tanh = LayerSpec(kind: "linear"); tanh.outFeatures = 3
        let model = try SpecModel(
            ModelSpec(inputShape: [4], layers: [tanh, LayerSpec(kind: "tanh"), LayerSpec(kind: "log_softmax")]))
        XCTAssertThrowsError(
            try InfluenceFunction(
                model: model, config: InfluenceConfig(damping: 0, cgIterations: 1, cgTolerance: 0.1), weightDecay: 0)
        ) { error in
            XCTAssertEqual(
                "\(error)",
                "key 'influence': spec: model.layers[1] is not supported by influence functions (only linear layers on flat input, each optionally followed by relu, then log_softmax); remove the 'influence' block for this model"
            )
        }
    }

    /// Lower-triangular L with A = L Lᵀ, or nil when A is not positive definite.
    static func cholesky(_ A: [Double], _ P: Int) -> [Double]? {
        var L = [Double](repeating: 0, count: P * P)
        for i in 0..<P {
            for j in 0...i {
                var s = A[i * P + j]
                for k in 0..<j { s -= L[i * P + k] * L[j * P + k] }
                if i == j {
                    guard s > 0 else { return nil }; L[i * P + i] = s.squareRoot()
                } else {
                    L[i * P + j] = s / L[j * P + j]
                }
            }
        }
        return L
    }

    static func choleskySolve(_ L: [Double], _ b: [Double], _ P: Int) -> [Double] {
        var y = b
        for i in 0..<P { for k in 0..<i { y[i] -= L[i * P + k] * y[k] }; y[i] /= L[i * P + i] }
        for i in stride(from: P - 1, through: 0, by: -1) {
            for k in (i + 1)..<P { y[i] -= L[k * P + i] * y[k] }; y[i] /= L[i * P + i]
        }
        return y
    }
}
