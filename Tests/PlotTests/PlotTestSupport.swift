import Foundation
import XCTest

@testable import Plot

/// A fresh temporary directory for one test, removed by the caller's `tearDown` helper.
func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("plot-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Pixel statistics of a decoded image.
struct PixelStatistics {
    let image: PNGImage

    /// Variance of the luminance (0…255 scale).
    var luminanceVariance: Double {
        var sum = 0.0, sumSquares = 0.0
        let n = Double(image.width * image.height)
        for i in 0..<(image.width * image.height) {
            let l =
                0.299 * Double(image.rgba[4 * i]) + 0.587 * Double(image.rgba[4 * i + 1]) + 0.114
                * Double(image.rgba[4 * i + 2])
            sum += l; sumSquares += l * l
        }
        return sumSquares / n - (sum / n) * (sum / n)
    }

    /// Number of distinct RGBA values.
    var distinctColors: Int {
        var set = Set<UInt32>()
        for i in 0..<(image.width * image.height) {
            set.insert(
                UInt32(image.rgba[4 * i]) << 24 | UInt32(image.rgba[4 * i + 1]) << 16 | UInt32(image.rgba[4 * i + 2])
                    << 8 | UInt32(image.rgba[4 * i + 3]))
        }
        return set.count
    }

    /// Pixels in the rectangle whose three channels are all below `threshold` (dark text).
    func darkPixels(x: Range<Int>, y: Range<Int>, threshold: UInt8 = 60) -> Int {
        var count = 0
        for py in y.clamped(to: 0..<image.height) {
            for px in x.clamped(to: 0..<image.width) {
                let p = image.pixel(x: px, y: py)
                if p.red < threshold && p.green < threshold && p.blue < threshold { count += 1 }
            }
        }
        return count
    }

    /// Pixels within `tolerance` per channel of `color`.
    func pixels(near color: Color, tolerance: Int = 10) -> Int {
        let target = [color.red, color.green, color.blue].map { Int(($0 * 255).rounded()) }
        var count = 0
        for i in 0..<(image.width * image.height) {
            if (0..<3).allSatisfy({ abs(Int(image.rgba[4 * i + $0]) - target[$0]) <= tolerance }) { count += 1 }
        }
        return count
    }

    /// Whether the outer `width`-pixel frame of the image is pure white (nothing drawn or clipped at the edges).
    func borderIsWhite(width: Int = 2) -> Bool {
        for y in 0..<image.height {
            for x in 0..<image.width
            where x < width || y < width || x >= image.width - width || y >= image.height - width {
                let p = image.pixel(x: x, y: y)
                if p.red != 255 || p.green != 255 || p.blue != 255 || p.alpha != 255 { return false }
            }
        }
        return true
    }
}

/// Deterministic synthetic data for the figures under test.
enum Synthetic {
    static func wave(_ n: Int, phase: Double = 0) -> (x: [Double], y: [Double]) {
        let x = (0..<n).map { Double($0) }
        return (x, x.map { sin($0 / 7 + phase) + 0.01 * $0 })
    }

    static func linearMatrix(rows: Int, columns: Int) -> [Double] {
        (0..<(rows * columns)).map { -1 + 2 * Double($0) / Double(rows * columns - 1) }
    }
}
