import Artifacts
import NN
import Tensor
import XCTest

@testable import Analysis
@testable import ExperimentKit

/// TRAK's estimator (docs/METHOD.md §17) against an independent Float64 computation on a tiny softmax model.
final class TRAKTests: XCTestCase {
    /// A 4 → 3 linear softmax classifier (P = 15), 40 training and 5 test samples.
    func tinySetup() throws -> (model: Model, theta: [Float], x: [[Double]], y: [Int], tx: [[Double]], ty: [Int]) {
        let spec =
            #"{"name": "tiny", "input_shape": [4], "layers": [{"kind": "linear", "name": "fc", "out_features": 3}, {"kind": "log_softmax"}]}"#
        let model = try SpecModel(JSONDecoder().decode(ModelSpec.self, from: Data(spec.utf8)))
        var rng = RNG(seed: 7)
        let theta = (0..<model.parameterCount).map { _ in Float(rng.normal()) }
        let x = (0..<40).map { _ in (0..<4).map { _ in rng.normal() } }, y = (0..<40).map { _ in rng.int(below: 3) }
        let tx = (0..<5).map { _ in (0..<4).map { _ in rng.normal() } }, ty = (0..<5).map { _ in rng.int(below: 3) }
        return (model, theta, x, y, tx, ty)
    }

    func tensor(_ rows: [[Double]]) -> Tensor {
        Tensor(shape: [rows.count, rows[0].count], storage: rows.flatMap { $0.map(Float.init) })
    }

    /// ∇_θ [log p_y − log(1 − p_y)] in Float64 from the closed form: d/dz = e_y − p_{c≠y}/(1 − p_y); θ = (W (3×4), b (3)).
    func marginGradient(_ theta: [Float], _ x: [Double], _ y: Int) -> (g: [Double], oneMinusP: Double) {
        let z = (0..<3).map { c in
            Double(theta[12 + c]) + (0..<4).reduce(0.0) { $0 + Double(theta[c * 4 + $1]) * x[$1] }
        }
        let m = z.max()!, e = z.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
        let p = e.map { $0 / s }
        let d = (0..<3).map { c in c == y ? 1.0 : -p[c] / (1 - p[y]) }
        var g = [Double](repeating: 0, count: 15)
        for c in 0..<3 { for i in 0..<4 { g[c * 4 + i] = d[c] * x[i] }; g[12 + c] = d[c] }
        return (g, 1 - p[y])
    }

    /// Solves A x = b by Gaussian elimination with partial pivoting (Float64).
    func solve(_ a: [[Double]], _ b: [Double]) -> [Double] {
        var a = a, b = b
        let n = b.count
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            a.swapAt(col, pivot); b.swapAt(col, pivot)
            for r in (col + 1)..<n {
                let f = a[r][col] / a[col][col]
                for c in col..<n { a[r][c] -= f * a[col][c] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            x[r] = (b[r] - ((r + 1)..<n).reduce(0.0) { $0 + a[r][$1] * x[$1] }) / a[r][r]
        }
        return x
    }

    /// With k = P and no projection, TRAK is φ(z)ᵀ(ΦᵀΦ + λI)⁻¹φ_j (1 − p_j) exactly. The softmax's shift invariance
    /// gives every margin gradient a 4-dimensional null space here, so ΦᵀΦ is singular and a small ridge is needed.
    func testUnprojectedTRAKEqualsTheExactAfterKernelFormula() throws {
        let s = try tinySetup()
        XCTAssertEqual(s.model.layout.names, ["fc.weight", "fc.bias"])
        let ridge = 1e-3
        let projection = RandomProjection(
            kind: .identity, inputDimension: 15, outputDimension: 15, seed: 0, cacheBytes: 0)
        let train = TRAK.features(
            model: s.model, parameters: s.theta, inputs: tensor(s.x), labels: s.y, projection: projection, chunk: 7)
        let test = TRAK.features(
            model: s.model, parameters: s.theta, inputs: tensor(s.tx), labels: s.ty, projection: projection, chunk: 3)
        let ours = TRAK.combine(
            kernelParts: [try TRAK.kernelPart(train: train.phi, test: test.phi, k: 15, ridge: ridge)],
            q: [train.oneMinusP], testCount: 5)

        let phi = zip(s.x, s.y).map { marginGradient(s.theta, $0, $1) }
        var gram = (0..<15).map { a in (0..<15).map { b in phi.reduce(0.0) { $0 + $1.g[a] * $1.g[b] } } }
        let lambda = ridge * (0..<15).reduce(0.0) { $0 + gram[$1][$1] } / 15
        for i in 0..<15 { gram[i][i] += lambda }
        for (a, (x, y)) in zip(s.tx, s.ty).enumerated() {
            let w = solve(gram, marginGradient(s.theta, x, y).g)
            for j in 0..<40 {
                let exact = zip(w, phi[j].g).reduce(0.0) { $0 + $1.0 * $1.1 } * phi[j].oneMinusP
                XCTAssertEqual(
                    Double(ours[a * 40 + j]), exact, accuracy: 1e-4 * max(1, abs(exact)), "test \(a), train \(j)")
            }
        }
        XCTAssertEqual(zip(train.oneMinusP, phi).map { abs($0 - $1.oneMinusP) }.max()!, 0, accuracy: 1e-6)
        // K copies of one model average to that model's scores.
        let part = try TRAK.kernelPart(train: train.phi, test: test.phi, k: 15, ridge: ridge)
        let twice = TRAK.combine(kernelParts: [part, part], q: [train.oneMinusP, train.oneMinusP], testCount: 5)
        for i in stride(from: 0, to: 200, by: 13) {
            XCTAssertEqual(twice[i], ours[i], accuracy: 1e-6 * max(1, abs(ours[i])))
        }
    }

    /// Without a ridge the singular ΦᵀΦ is refused with a message naming the fix.
    func testSingularKernelIsRefused() throws {
        let s = try tinySetup()
        let projection = RandomProjection(
            kind: .identity, inputDimension: 15, outputDimension: 15, seed: 0, cacheBytes: 0)
        let train = TRAK.features(
            model: s.model, parameters: s.theta, inputs: tensor(s.x), labels: s.y, projection: projection, chunk: 40)
        XCTAssertThrowsError(try TRAK.kernelPart(train: train.phi, test: Array(train.phi[0..<15]), k: 15, ridge: 0)) {
            error in
            XCTAssertTrue("\(error)".contains("positive trak.ridge"), "\(error)")
        }
    }

    /// E[RRᵀ] = I: projected inner products approach the exact ones as k grows (Rademacher and Gaussian), and the
    /// matrix does not depend on whether its blocks are cached.
    func testProjectionPreservesInnerProductsAndIsDeterministic() throws {
        var rng = RNG(seed: 3)
        let P = 300, k = 20_000
        let g = (0..<(2 * P)).map { _ in Float(rng.normal()) }
        let exact = (0..<P).reduce(0.0) { $0 + Double(g[$1]) * Double(g[P + $1]) }
        let norms = (0..<2).map { r in (0..<P).reduce(0.0) { $0 + Double(g[r * P + $1] * g[r * P + $1]) }.squareRoot() }
        for kind in [RandomProjection.Kind.rademacher, .gaussian] {
            let cached = RandomProjection(
                kind: kind, inputDimension: P, outputDimension: k, seed: 11, blockRows: 64, cacheBytes: .max)
            let streamed = RandomProjection(
                kind: kind, inputDimension: P, outputDimension: k, seed: 11, blockRows: 64, cacheBytes: 0)
            let phi = cached.project(g, rows: 2)
            XCTAssertEqual(phi, streamed.project(g, rows: 2), "\(kind): cached and regenerated blocks must agree")
            XCTAssertEqual(cached.project(g, rows: 2), phi, "\(kind): a second pass reads the same matrix")
            let projected = (0..<k).reduce(0.0) { $0 + Double(phi[$1]) * Double(phi[k + $1]) }
            // The standard deviation of the estimate is ≤ √(2/k)·‖g₁‖‖g₂‖ ≈ 0.01·‖g₁‖‖g₂‖.
            XCTAssertEqual(projected, exact, accuracy: 0.05 * norms[0] * norms[1], "\(kind)")
            let other = RandomProjection(
                kind: kind, inputDimension: P, outputDimension: k, seed: 11, stream: 1, blockRows: 64, cacheBytes: 0)
            XCTAssertNotEqual(other.project(g, rows: 2), phi, "\(kind): another stream is another matrix")
        }
    }

    /// The margin cotangent stays finite and sums to zero when p_y rounds to 1 in Float32.
    func testMarginCotangentIsBoundedNearCertainty() {
        let logProbs = Tensor(shape: [1, 3], storage: [0, -30, -40])
        let (d, rest) = TRAK.marginCotangents(logProbs: logProbs, labels: [0])
        XCTAssertEqual(d.storage[0], 1)
        XCTAssertEqual(Double(d.storage[1] + d.storage[2]), -1, accuracy: 1e-6)
        XCTAssertEqual(rest[0], Foundation.exp(-30.0) + Foundation.exp(-40.0), accuracy: 1e-18)
    }
}
