import Artifacts

/// Combines shard results (docs/METHOD.md §12). The EPK sum is additive over test points and over step ranges:
/// - **test shards** (same steps, disjoint test points): arrays are concatenated along the test axis;
/// - **step shards** (same test points, adjacent step ranges, no data attribution): component, regularisation and
///   parameter attributions are summed, per-step arrays concatenated, the initial output taken from the first
///   range and the final output from the last.
public enum EPKMerge {
    public static func merge(
        _ parts: [(result: EPKResult, context: EPKArtifact.Context)]
    ) throws -> (result: EPKResult, context: EPKArtifact.Context) {
        guard let first = parts.first else { throw ArtifactError(.invalidArgument, "merge: no shard files given") }
        if parts.count == 1 { return first }
        for p in parts
        where p.result.componentNames != first.result.componentNames || p.result.classCount != first.result.classCount {
            throw ArtifactError(
                .invalidArgument, "merge: shards come from different models; merge shards of one run only")
        }
        if parts.allSatisfy({ $0.result.steps == first.result.steps }) { return try mergeTests(parts) }
        if parts.allSatisfy({ $0.context.testIndices == first.context.testIndices }) { return try mergeSteps(parts) }
        throw ArtifactError(
            .invalidArgument, "merge: shards differ in both test points and steps; shard over one axis at a time")
    }

    /// Concatenates `parts` (each `outer` blocks of its own inner length) block by block.
    static func concat<T>(_ parts: [[T]], outer: Int) -> [T] {
        var out: [T] = []
        out.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for o in 0..<outer {
            for p in parts { let inner = p.count / max(outer, 1); out += p[(o * inner)..<((o + 1) * inner)] }
        }
        return out
    }

    private static func mergeTests(
        _ parts: [(result: EPKResult, context: EPKArtifact.Context)]
    ) throws -> (result: EPKResult, context: EPKArtifact.Context) {
        let sorted = parts.sorted { ($0.context.testIndices.first ?? 0) < ($1.context.testIndices.first ?? 0) }
        let rs = sorted.map(\.result)
        var r = rs[0]
        let T = r.steps.count
        r.testCount = rs.reduce(0) { $0 + $1.testCount }
        r.rowClasses = rs.flatMap(\.rowClasses)
        r.attributionRowClasses = rs.flatMap(\.attributionRowClasses)
        r.focusClasses = rs.flatMap(\.focusClasses)
        r.initialOutputs = rs.flatMap(\.initialOutputs)
        r.finalOutputs = rs.flatMap(\.finalOutputs)
        r.kernelByComponent = rs.flatMap(\.kernelByComponent)
        r.regularizationByComponent = rs.flatMap(\.regularizationByComponent)
        r.stepPredicted = concat(rs.map(\.stepPredicted), outer: T)
        r.stepTruth = concat(rs.map(\.stepTruth), outer: T)
        r.stepKernelFocus = concat(rs.map(\.stepKernelFocus), outer: T)
        r.stepRegularizationFocus = concat(rs.map(\.stepRegularizationFocus), outer: T)
        r.stepPoints = rs.allSatisfy({ !$0.stepPoints.isEmpty }) ? concat(rs.map(\.stepPoints), outer: T) : []
        r.dataAttribution = r.dataAttribution.indices.map { g in
            (r.dataAttribution[g].group, rs.flatMap { $0.dataAttribution[g].values })
        }
        r.dataSnapshots = r.dataSnapshots.indices.map { g in
            (r.dataSnapshots[g].group, concat(rs.map { $0.dataSnapshots[g].values }, outer: r.dataSnapshotStarts.count))
        }
        if var pa = r.parameterAttribution {
            let pas = rs.compactMap(\.parameterAttribution)
            pa.kernelTotal = pas.flatMap(\.kernelTotal)
            pa.regularizationTotal = pas.flatMap(\.regularizationTotal)
            pa.kernelSnapshots = concat(pas.map(\.kernelSnapshots), outer: pa.snapshotSteps.count)
            pa.regularizationSnapshots = concat(pas.map(\.regularizationSnapshots), outer: pa.snapshotSteps.count)
            r.parameterAttribution = pa
        }
        var context = sorted[0].context
        context.testIndices = sorted.flatMap(\.context.testIndices)
        context.labels = sorted.allSatisfy({ $0.context.labels != nil }) ? sorted.flatMap { $0.context.labels! } : nil
        return (r, context)
    }

    private static func mergeSteps(
        _ parts: [(result: EPKResult, context: EPKArtifact.Context)]
    ) throws -> (result: EPKResult, context: EPKArtifact.Context) {
        let sorted = parts.sorted { $0.result.steps.lowerBound < $1.result.steps.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.result.steps.upperBound != b.result.steps.lowerBound {
            throw ArtifactError(
                .invalidArgument,
                "merge: step shards \(a.result.steps) and \(b.result.steps) are not adjacent; include every range")
        }
        if sorted.contains(where: { !$0.result.dataAttribution.isEmpty }) {
            throw ArtifactError(
                .invalidArgument,
                "merge: step shards cannot carry data attribution (reverse accumulation couples all steps)")
        }
        var r = sorted[0].result
        let rs = sorted.map(\.result)
        r.steps = rs.first!.steps.lowerBound..<rs.last!.steps.upperBound
        r.finalOutputs = rs.last!.finalOutputs
        for other in rs.dropFirst() {
            for i in r.kernelByComponent.indices {
                r.kernelByComponent[i] += other.kernelByComponent[i]
                r.regularizationByComponent[i] += other.regularizationByComponent[i]
            }
        }
        r.stepPredicted = rs.flatMap(\.stepPredicted)
        r.stepTruth = rs.flatMap(\.stepTruth)
        r.stepKernelFocus = rs.flatMap(\.stepKernelFocus)
        r.stepRegularizationFocus = rs.flatMap(\.stepRegularizationFocus)
        r.stepPoints = rs.allSatisfy({ !$0.stepPoints.isEmpty }) ? rs.flatMap(\.stepPoints) : []
        if var pa = r.parameterAttribution {
            let pas = rs.compactMap(\.parameterAttribution)
            let block = r.testCount * pa.rowsPerTest * pa.parameterCount
            var steps: [Int] = []
            for p in pas { for s in p.snapshotSteps where !steps.contains(s) { steps.append(s) } }
            steps.sort()
            var ks = [Float](repeating: 0, count: steps.count * block), rgs = ks
            pa.kernelTotal = [Float](repeating: 0, count: block); pa.regularizationTotal = pa.kernelTotal
            for p in pas {
                for i in 0..<block {
                    pa.kernelTotal[i] += p.kernelTotal[i]; pa.regularizationTotal[i] += p.regularizationTotal[i]
                }
                for (si, s) in p.snapshotSteps.enumerated() {
                    let o = steps.firstIndex(of: s)! * block
                    for i in 0..<block {
                        ks[o + i] += p.kernelSnapshots[si * block + i];
                        rgs[o + i] += p.regularizationSnapshots[si * block + i]
                    }
                }
            }
            pa.snapshotSteps = steps; pa.kernelSnapshots = ks; pa.regularizationSnapshots = rgs
            r.parameterAttribution = pa
        }
        return (r, sorted[0].context)
    }
}
