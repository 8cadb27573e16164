import XCTest

@testable import Tensor

final class TensorTests: XCTestCase {
    func testSgemmMatchesNaiveProductWithTransposes() {
        var rng = RNG(seed: 1)
        let m = 7, n = 5, k = 9
        var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: k * n)
        a.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        b.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
        var ref = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n { for p in 0..<k { ref[i * n + j] += Double(a[i * k + p]) * Double(b[p * n + j]) } }
        }
        var c = [Float](repeating: 0, count: m * n)
        c.withMutablePointer { cp in
            a.withPointer { ap in
                b.withPointer { bp in
                    BLAS.sgemm(m: m, n: n, k: k, a: ap, b: bp, c: cp)
                }
            }
        }
        for i in 0..<(m * n) { XCTAssertEqual(Double(c[i]), ref[i], accuracy: 1e-4) }
        // Aᵀ stored k×m and Bᵀ stored n×k give the same product.
        var at = [Float](repeating: 0, count: k * m), bt = [Float](repeating: 0, count: n * k)
        for i in 0..<m { for p in 0..<k { at[p * m + i] = a[i * k + p] } }
        for p in 0..<k { for j in 0..<n { bt[j * k + p] = b[p * n + j] } }
        var c2 = [Float](repeating: 0, count: m * n)
        c2.withMutablePointer { cp in
            at.withPointer { ap in
                bt.withPointer { bp in
                    BLAS.sgemm(transA: true, transB: true, m: m, n: n, k: k, a: ap, b: bp, c: cp)
                }
            }
        }
        for i in 0..<(m * n) { XCTAssertEqual(Double(c2[i]), ref[i], accuracy: 1e-4) }
    }

    /// A product large enough to be split over threads gives the single-call result (to float rounding: OpenBLAS may
    /// pick a different kernel for the smaller blocks), for both split directions (wide C: column blocks, tall C: row
    /// blocks), every transpose combination, padded leading dimensions and a nonzero beta.
    func testSplitSgemmEqualsSingleCall() {
        var rng = RNG(seed: 3)
        let saved = Parallel.workers
        defer { Parallel.configure(threads: saved) }
        for (m, n, k) in [(40, 700, 96), (700, 40, 96)] {
            XCTAssertGreaterThanOrEqual(m * n * k, BLAS.splitThreshold, "the product must be large enough to split")
            for transA in [false, true] {
                for transB in [false, true] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5, ldc = n + 2
                    var a = [Float](repeating: 0, count: (transA ? k : m) * lda),
                        b = [Float](repeating: 0, count: (transB ? n : k) * ldb)
                    var c0 = [Float](repeating: 0, count: m * ldc)
                    a.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
                    b.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
                    c0.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
                    func product(threads: Int) -> [Float] {
                        Parallel.configure(threads: threads)
                        var c = c0
                        c.withMutablePointer { cp in
                            a.withPointer { ap in
                                b.withPointer { bp in
                                    BLAS.sgemm(
                                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: ap, lda: lda,
                                        b: bp, ldb: ldb, beta: 2, c: cp, ldc: ldc)
                                }
                            }
                        }
                        return c
                    }
                    let split = product(threads: 3), single = product(threads: 1)
                    let worst = zip(split, single).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
                    XCTAssertLessThanOrEqual(worst, 2e-5, "m \(m) n \(n) transA \(transA) transB \(transB)")
                }
            }
        }
    }

    func testRNGIsDeterministicAndWellFormed() {
        var a = RNG(seed: 42), b = RNG(seed: 42), c = RNG(seed: 43)
        let xa = (0..<100).map { _ in a.next() }, xb = (0..<100).map { _ in b.next() },
            xc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
        var r = RNG(seed: 3)
        let u = (0..<20_000).map { _ in Double(r.uniform()) }
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(u.reduce(0, +) / Double(u.count), 0.5, accuracy: 0.01)
        let z = (0..<20_000).map { _ in r.normal() }
        let mean = z.reduce(0, +) / Double(z.count)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(z.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.04)
        XCTAssertEqual(r.permutation(50).sorted(), Array(0..<50))
        let chosen = r.choose(30, from: 40)
        XCTAssertEqual(Set(chosen).count, 30)
        XCTAssertTrue(chosen.allSatisfy { $0 >= 0 && $0 < 40 })
    }

    func testIm2ColConvolutionMatchesDirectConvolution() {
        var rng = RNG(seed: 5)
        for (stride, pad, k) in [(1, 1, 3), (2, 2, 5), (1, 0, 3)] {
            let g = ConvGeometry(channels: 3, height: 7, width: 6, kernel: k, stride: stride, padding: pad)
            let cout = 4
            var x = [Float](repeating: 0, count: 3 * 7 * 6), w = [Float](repeating: 0, count: cout * g.columnRows)
            x.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
            w.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
            var cols = [Float](repeating: 0, count: g.columnRows * g.columnCount)
            cols.withMutablePointer { cp in x.withPointer { Im2Col.forward(g, image: $0, cols: cp) } }
            var y = [Float](repeating: 0, count: cout * g.columnCount)
            y.withMutablePointer { yp in
                w.withPointer { wp in
                    cols.withPointer { cp in
                        BLAS.sgemm(m: cout, n: g.columnCount, k: g.columnRows, a: wp, b: cp, c: yp)
                    }
                }
            }
            for o in 0..<cout {
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        var s = 0.0
                        for c in 0..<3 {
                            for i in 0..<k {
                                for j in 0..<k {
                                    let iy = oy * stride + i - pad, ix = ox * stride + j - pad
                                    if iy >= 0 && iy < 7 && ix >= 0 && ix < 6 {
                                        s += Double(w[((o * 3 + c) * k + i) * k + j]) * Double(x[(c * 7 + iy) * 6 + ix])
                                    }
                                }
                            }
                        }
                        XCTAssertEqual(Double(y[(o * g.outHeight + oy) * g.outWidth + ox]), s, accuracy: 1e-4)
                    }
                }
            }
            // col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>.
            var probe = [Float](repeating: 0, count: cols.count)
            probe.withUnsafeMutableBufferPointer { rng.fillNormal($0) }
            var back = [Float](repeating: 0, count: x.count)
            back.withMutablePointer { bp in probe.withPointer { Im2Col.backward(g, cols: $0, image: bp) } }
            var lhs = 0.0, rhs = 0.0
            for i in 0..<cols.count { lhs += Double(cols[i]) * Double(probe[i]) }
            for i in 0..<x.count { rhs += Double(x[i]) * Double(back[i]) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-3 * max(1, abs(lhs)))
        }
    }

    func testParallelRangesPartitionTheIndexSpace() {
        for (n, partsPerWorker) in [(1003, 1), (1003, 4), (36, 36), (3, 8), (1, 4)] {
            // hits[i]: how often index i was visited; starts[i]: 1 when a range begins at i (ranges are disjoint, so
            // no two workers write the same entry)
            let hits = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            let starts = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            hits.initialize(repeating: 0, count: n)
            starts.initialize(repeating: 0, count: n)
            defer { hits.deallocate(); starts.deallocate() }
            Parallel.forEachRange(n, partsPerWorker: partsPerWorker) { r in
                starts[r.lowerBound] = 1
                for i in r { hits[i] += 1 }
            }
            XCTAssertTrue((0..<n).allSatisfy { hits[$0] == 1 }, "n \(n), \(partsPerWorker) parts per worker")
            let ranges = (0..<n).reduce(0) { $0 + Int(starts[$1]) }
            let expected = Parallel.workers == 1 ? 1 : min(n, Parallel.workers * partsPerWorker)
            XCTAssertEqual(ranges, expected, "n \(n), \(partsPerWorker) parts per worker")
        }
    }
}
