import Foundation
import History
import NN
import Tensor

extension EPKEngine {
    /// The plan `run` follows for `testCount` test points under these options (executables log it up front).
    public func memoryPlan(testCount n: Int) throws -> MemoryPlan {
        let dataGroups = try resolveGroups(options.dataAttributionGroups)
        let paramCount =
            try options.parameterAttribution.map {
                try resolveGroups([ComponentGroup(name: "parameters", components: $0.components)])[0].count
            } ?? 0
        let S = options.classes == .all ? model.classCount : 1
        let Sa = options.attributionClasses == .focus ? 1 : S
        let needsFeatures = !dataGroups.isEmpty || paramCount > 0
        func plan(basisRows: Int) -> MemoryPlan {
            MemoryPlan(
                testCount: n, attributionClassesPerTest: Sa, parameterCount: model.parameterCount,
                trainingCount: history.trainingCount,
                projectedRowFloats: projectsTrainingGradients ? trainingRowFloats : nil,
                batchSize: maxBatchSize(options.steps ?? 0..<history.stepCount), dataGroups: dataGroups.count,
                parameterGroupCount: paramCount * (options.parameterAttribution?.rowsKept(perTestOf: Sa) ?? 1),
                basisRowsPerTest: basisRows,
                refinement: options.quadrature.refine != nil,
                nodesPerStep: options.quadrature.points, budget: options.memoryBudgetBytes)
        }
        let direct = plan(basisRows: 0)
        guard needsFeatures && usesSoftmaxBasis(classesPerTest: Sa) else { return direct }
        // The basis gradients of materialised rows cost (C − 1)·P floats per test point. They are worth it only when
        // they do not split the test points into more chunks: every chunk recomputes the training per-sample gradients.
        let basis = plan(basisRows: model.classCount - 1)
        func chunks(_ p: MemoryPlan) -> Int { (n + p.testChunk - 1) / p.testChunk }
        return chunks(basis) <= chunks(direct) ? basis : direct
    }

    /// The working-memory plan; `description` is what the executables log.
    ///
    /// Per test point the chunk holds its state (Q for data attribution, its output rows, parameter accumulators) and
    /// its features (φ, and the basis gradients when they are used). Every chunk of test points recomputes the
    /// training per-sample gradients of every step, so when the test points do not fit in one chunk with their
    /// features, the plan may **stream** the features instead: φ is formed for `featureBlock` test points at a time
    /// and folded into Q at once, so only the state scales with the chunk. It does so when that needs fewer chunks
    /// and the training rows saved outnumber the test feature rows, shrinking the training chunk if needed (a training
    /// chunk costs one pass over Q per product, a test chunk a whole pass of training per-sample gradients).
    public struct MemoryPlan: CustomStringConvertible {
        public let testChunk: Int
        public let trainChunk: Int
        /// Test points whose features φ are formed at once (= `testChunk` unless the features are streamed).
        public let featureBlock: Int
        public let bytesPerTestPoint: Int
        public let fixedBytes: Int
        /// C − 1 when materialised rows go through the softmax basis, else 0.
        public let basisRowsPerTest: Int
        /// Whether the training rows are one component's per-sample gradients projected inside the backward pass
        /// (`Model.projectsPerSampleDots`); `trainChunk` then counts the samples of a projection block.
        public let projected: Bool

        public init(
            testCount: Int, attributionClassesPerTest Sa: Int, parameterCount P: Int, trainingCount N: Int,
            projectedRowFloats: Int? = nil, batchSize: Int,
            dataGroups: Int, parameterGroupCount: Int, basisRowsPerTest: Int = 0, refinement: Bool = false,
            nodesPerStep: Int = 1, budget: Int
        ) {
            // Per test point: φ (S·P) and, with data attribution, Q (S·P); parameter accumulators (3·P_g: total,
            // current interval, reg; P_g counts every kept row); data attribution output rows (groups·S·N).
            // Without data or parameter attribution φ is never materialised (per-sample dot products instead).
            self.basisRowsPerTest = basisRowsPerTest
            // Refinement recomputes φ of the refined test points into a second buffer (at most P more per row).
            let phiBytes = parameterGroupCount > 0 || dataGroups > 0 ? P * 4 * (refinement ? 2 : 1) : 0
            // Materialised features through the softmax basis also hold the C − 1 basis gradients of each node.
            let featureBytes = Sa * phiBytes + basisRowsPerTest * P * 4
            let stateBytes = Sa * ((dataGroups > 0 ? P * 4 : 0) + dataGroups * N * 4 + 64) + 3 * parameterGroupCount * 4
            bytesPerTestPoint = stateBytes + featureBytes
            // Training per-sample gradients: at most a quarter of the budget, at least one row (P floats, or when the
            // engine projects, `projectedRowFloats`: one sample's gradient of the largest component).
            projected = projectedRowFloats != nil
            let row = projectedRowFloats ?? P
            let fixed = { (train: Int) in train * row * 4 + 4 * P * 4 }
            let train = dataGroups > 0 ? max(1, min(batchSize, budget / 4 / max(1, row * 4))) : 0
            let whole = max(1, min(testCount, (budget - fixed(train)) / max(1, bytesPerTestPoint)))
            var plan = (test: whole, train: train, block: whole)
            if dataGroups > 0 && whole < testCount && featureBytes > 0 {
                // Streamed features: the fewest chunks, then the largest training chunk (each training chunk is one
                // pass over Q; a feature block of a single test point costs little more per row than a wide one).
                var best: (test: Int, train: Int, block: Int)?
                for t in stride(from: train, through: min(train, 4), by: -1) {
                    let room = budget - fixed(t) - featureBytes
                    guard room > 0 else { continue }
                    let tests = min(testCount, room / max(1, stateBytes))
                    guard tests >= 1 else { continue }
                    let block = min(tests, (budget - fixed(t) - tests * stateBytes) / featureBytes)
                    if best == nil || (testCount + tests - 1) / tests < (testCount + best!.test - 1) / best!.test {
                        best = (test: tests, train: t, block: block)
                    }
                }
                // Worth it when the training rows it saves per step outnumber the test feature rows of a step: then
                // even feature blocks of one test point, whose backward passes are narrower, cost less than the
                // training passes they save (P4's 64 training images against 20 test rows, not 1,000 modulo
                // pairs against 50 × 114 basis rows).
                let chunks = { (size: Int) in (testCount + size - 1) / size }
                let featureRows = testCount * (basisRowsPerTest > 0 ? basisRowsPerTest : Sa) * max(1, nodesPerStep)
                if let b = best, chunks(b.test) < chunks(whole),
                    (chunks(whole) - chunks(b.test)) * batchSize >= featureRows
                {
                    plan = b
                }
            }
            testChunk = plan.test
            trainChunk = plan.train
            featureBlock = plan.block
            fixedBytes = fixed(plan.train)
        }

        public var description: String {
            let size = { (b: Int) in
                b < 1_048_576
                    ? String(format: "%.1f KiB", Double(b) / 1024) : String(format: "%.1f MiB", Double(b) / 1_048_576)
            }
            let training =
                trainChunk == 0
                ? "no training per-sample gradients held (per-sample dot products)"
                : projected
                    ? "training per-sample gradients projected onto Q one component at a time, \(trainChunk) samples per block"
                    : "training per-sample gradients in chunks of \(trainChunk)"
            let streamed =
                featureBlock < testChunk
                ? "; features formed \(featureBlock) test points at a time and folded into Q" : ""
            return
                "memory plan: \(testChunk) test points per chunk (\(size(bytesPerTestPoint)) each)\(streamed), \(training) (\(size(fixedBytes)) fixed)"
        }
    }

}
