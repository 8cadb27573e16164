/// A matrix drawn as coloured cells, row 0 at the top (matrix convention), with a colour bar.
///
/// Cell (r, c) is centred at data coordinates x = c, y = r, so explicit ticks use column and row indices.
/// NaN or infinite cells take the colour map's `missing` colour.
public struct Heatmap: Sendable {
    /// Row-major values, `rows × columns`.
    public var values: [Double]
    public var rows: Int
    public var columns: Int
    public var colorScale: ColorScale
    /// Keep cells square (the panel's plot area shrinks to the matrix aspect ratio).
    public var squareCells: Bool

    /// A heatmap of `values` (row-major, count `rows * columns`).
    public init(
        values: [Double], rows: Int, columns: Int, colorScale: ColorScale = ColorScale(), squareCells: Bool = false
    ) {
        precondition(
            rows >= 0 && columns >= 0 && values.count == rows * columns, "heatmap values must be rows × columns")
        self.values = values; self.rows = rows; self.columns = columns; self.colorScale = colorScale
        self.squareCells = squareCells
    }

    /// The value at (row, column).
    public subscript(row: Int, column: Int) -> Double { values[row * columns + column] }
}
