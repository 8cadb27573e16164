/// Index of the largest of the `width` values in row `row` of a row-major matrix (the first on ties; NaN never wins).
public func argmax(_ values: [Float], row: Int, width: Int) -> Int {
    var best = 0
    for c in 1..<width where values[row * width + c] > values[row * width + best] { best = c }
    return best
}
