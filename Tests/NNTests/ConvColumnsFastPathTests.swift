import Tensor
import XCTest

@testable import NN

/// The fast paths of `Conv2dColumns` (stride-1 "same"-width runs, the stride-2 vector loads, the consuming
/// scatter) against the plain per-pixel `Im2Col` reference, on the ResNet-9 geometries and odd sizes.
final class ConvColumnsFastPathTests: XCTestCase {
    /// (C, H, W, k, s, p): ResNet-9 layers 0, 1, 2 and 6 at reduced channel counts, plus non-square and odd shapes.
    let geometries: [(Int, Int, Int, Int, Int, Int)] = [
        (2, 32, 32, 3, 1, 1), (2, 32, 32, 5, 2, 2), (3, 16, 16, 3, 1, 1), (2, 8, 8, 3, 1, 0),
        (2, 7, 19, 5, 1, 2), (2, 9, 35, 3, 2, 1), (1, 4, 4, 5, 1, 3), (2, 20, 21, 5, 2, 2),
    ]

    func testGatherEqualsIm2ColOnEveryPath() {
        for (c, h, w, k, s, p) in geometries {
            let g = ConvGeometry(channels: c, height: h, width: w, kernel: k, stride: s, padding: p)
            let image = randomTensor([c, h, w], seed: UInt64(h * w + k)).storage
            var reference = [Float](repeating: 0, count: g.columnRows * g.columnCount)
            var cols = [Float](repeating: .nan, count: reference.count)
            image.withPointer { im in reference.withMutablePointer { Im2Col.forward(g, image: im, cols: $0) } }
            image.withPointer { im in
                cols.withMutablePointer {
                    Conv2dColumns.gather(g, image: im, channelStride: h * w, cols: $0, rowStride: g.columnCount)
                }
            }
            // Pure copies: every entry is one input pixel or zero, so the two agree exactly.
            XCTAssertEqual(cols, reference, "C\(c) \(h)×\(w) k\(k) s\(s) p\(p)")
        }
    }

    func testConsumingScatterAccumulatesLikeScatter() {
        for (c, h, w, k, s, p) in geometries {
            let g = ConvGeometry(channels: c, height: h, width: w, kernel: k, stride: s, padding: p)
            let columns = randomTensor([g.columnRows * g.columnCount], seed: UInt64(7 + k * h)).storage
            let start = randomTensor([c * h * w], seed: 3).storage
            var expected = start, actual = start
            columns.withPointer { cp in
                expected.withMutablePointer {
                    Conv2dColumns.scatter(g, cols: cp, rowStride: g.columnCount, image: $0, channelStride: h * w)
                }
            }
            var scratch = columns
            scratch.withMutablePointer { cp in
                actual.withMutablePointer {
                    Conv2dColumns.scatterConsuming(
                        g, cols: cp, rowStride: g.columnCount, image: $0, channelStride: h * w)
                }
            }
            for i in 0..<expected.count {
                XCTAssertEqual(
                    actual[i], expected[i], accuracy: 1e-5 * max(1, abs(expected[i])),
                    "C\(c) \(h)×\(w) k\(k) s\(s) p\(p) at \(i)")
            }
            // The reference adjoint: ⟨Im2Col(x), cols⟩ = ⟨x, scatter(cols)⟩ with the consuming scatter into zeros.
            var back = [Float](repeating: 0, count: c * h * w)
            scratch = columns
            scratch.withMutablePointer { cp in
                back.withMutablePointer {
                    Conv2dColumns.scatterConsuming(
                        g, cols: cp, rowStride: g.columnCount, image: $0, channelStride: h * w)
                }
            }
            let x = randomTensor([c, h, w], seed: 11).storage
            var gathered = [Float](repeating: 0, count: columns.count)
            x.withPointer { im in gathered.withMutablePointer { Im2Col.forward(g, image: im, cols: $0) } }
            var lhs = 0.0, rhs = 0.0
            for i in 0..<columns.count { lhs += Double(gathered[i]) * Double(columns[i]) }
            for i in 0..<x.count { rhs += Double(x[i]) * Double(back[i]) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(1, abs(lhs)), "adjoint C\(c) \(h)×\(w) k\(k) s\(s) p\(p)")
        }
    }
}
