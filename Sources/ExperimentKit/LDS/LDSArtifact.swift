import Analysis
import Artifacts
import Foundation

/// Everything one LDS evaluation produces (docs/METHOD.md §17), before it is written to `lds.h5`.
public struct LDSOutcome {
    public var subsets: [[Int]]
    public var testIndices: [Int]
    public var testLabels: [Int]
    /// (M, n) margins of the retrained subset models.
    public var margins: [Double]
    public var subsetAccuracies: [Double]
    public var subsetSeconds: [Double]
    /// (n) margins of the full-data model.
    public var fullMargins: [Double]
    public var fullAccuracy: Double
    public var trainingCount: Int
    public var methods: [MethodScores]
    public var scores: [LinearDatamodelScore]
    /// EPK reconstruction error max |f̂_y − f_y(θ_T)| of the ExPLAIND run.
    public var reconstructionError: Double
    public var seconds: [String: Double]
    /// The K full-data models (member 0: the history's θ_T) and TRAK's settings.
    public var ensemble: EnsembleRecord? = nil
    /// The history's `data/training_indices` and `data_source` (JSON), so another program rebuilds the training set.
    public var trainingIndices: [Int] = []
    public var dataSourceJSON: String? = nil
    /// Where `lds.h5` was written.
    public var path = ""
}

/// `lds.h5` (kind "lds"):
///
/// | path | shape | meaning |
/// |---|---|---|
/// | `/subsets/indices` | (M, ⌊αN⌋) i32 | training-set indices of each subset S_m (sorted) |
/// | `/test/{indices, labels}` | (n) i32 | evaluation-split indices and labels of the test examples |
/// | `/ground_truth/{margins, accuracy, seconds}` | (M, n), (M), (M) f64 | retrained margins log p_y − log(1 − p_y), test accuracy, retraining time |
/// | `/full_model/margins` | (n) f64 | margins of the history's model θ_T |
/// | `/methods/<name>/{scores, predicted, lds}` | (n, N) f32, (M, n) f64, (n) f64 | τ(z)_j, ĝ_m(z) = Σ_{j∈S_m} τ(z)_j, LDS(z); attributes `description`, `seconds` (group) and `mean`, `ci_lower`, `ci_upper`, `undefined` (on `lds`) |
/// | `/methods/influence` | group | with an `influence` block, attributes `damping`, `weight_decay`, `cg_iterations` (slowest solve), `cg_max_relative_residual`, `hessian_products` |
/// | `/summary/{mean, ci_lower, ci_upper}` | (methods) f64 | in the order of the root attribute `methods` |
/// | `/models/member-<k>/<parameter name>` | the parameter's shape, f32 | θ_T of ensemble member k = 0…K−1 (member 0: the history's run), with the model's PyTorch names and shapes (`fc1.weight` (128, 784), `fc1.bias` (128), …); group attributes `training_seed`, `history` |
/// | `/data/training_indices` | (N) i64 | copied from the history: training sample j is row `training_indices[j]` of the source described by the group attribute `data_source` (JSON) |
///
/// Root attributes: `kind`, `config` (the LDS config), `train_config`, `history`, `training_count`, `subset_size`,
/// `full_model_accuracy`, `explaind_reconstruction_error`, `seconds` (JSON), `methods` (JSON), `ensemble_size` (K),
/// with TRAK `trak_projection_dim` (k), `trak_projection`, `trak_ridge`, `trak_seed`, and provenance.
public enum LDSArtifact {
    public static let kind = "lds"

    public static func write(
        _ o: LDSOutcome, configJSON: String, trainConfigJSON: String, historyPath: String,
        includeScores: Bool = true, to path: String
    ) throws {
        let M = o.subsets.count, n = o.testIndices.count, N = o.trainingCount
        try ArtifactFile.write(to: path, kind: kind, config: configJSON) { root in
            try root.setAttribute("train_config", trainConfigJSON)
            try root.setAttribute("history", historyPath)
            try root.setAttribute("training_count", N)
            try root.setAttribute("subset_size", o.subsets.first?.count ?? 0)
            try root.setAttribute("full_model_accuracy", o.fullAccuracy)
            try root.setAttribute("explaind_reconstruction_error", o.reconstructionError)
            try root.setJSONAttribute("seconds", o.seconds)
            try root.setJSONAttribute("methods", o.methods.map(\.name))

            try writeModels(o, root: root)

            let k = o.subsets.first?.count ?? 0
            _ = try root.createGroup("subsets").write(
                "indices", o.subsets.flatMap { $0.map(Int32.init) }, shape: [M, k])
            let test = try root.createGroup("test")
            _ = try test.write("indices", o.testIndices.map(Int32.init), shape: [n])
            _ = try test.write("labels", o.testLabels.map(Int32.init), shape: [n])
            let truth = try root.createGroup("ground_truth")
            _ = try truth.write("margins", o.margins, shape: [M, n])
            _ = try truth.write("accuracy", o.subsetAccuracies, shape: [M])
            _ = try truth.write("seconds", o.subsetSeconds, shape: [M])
            _ = try root.createGroup("full_model").write("margins", o.fullMargins, shape: [n])

            let methods = try root.createGroup("methods")
            for (m, s) in zip(o.methods, o.scores) {
                let g = try methods.createGroup(m.name)
                if includeScores { _ = try g.write("scores", m.scores, shape: [n, N]) }
                var predicted = [Double](repeating: 0, count: M * n)
                for a in 0..<n {
                    let sums = LinearDatamodelScore.subsetSums(m.scores[(a * N)..<((a + 1) * N)], subsets: o.subsets)
                    for i in 0..<M { predicted[i * n + a] = sums[i] }
                }
                _ = try g.write("predicted", predicted, shape: [M, n])
                let d = try g.write("lds", s.perExample, shape: [n])
                try d.setAttribute("mean", s.mean)
                try d.setAttribute("ci_lower", s.lower)
                try d.setAttribute("ci_upper", s.upper)
                try d.setAttribute("undefined", s.undefinedCount)
                try g.setAttribute("description", m.description)
                try g.setAttribute("seconds", m.seconds)
                for (key, value) in m.attributes.sorted(by: { $0.key < $1.key }) { try g.setAttribute(key, value) }
            }
            let summary = try root.createGroup("summary")
            _ = try summary.write("mean", o.scores.map(\.mean), shape: [o.scores.count])
            _ = try summary.write("ci_lower", o.scores.map(\.lower), shape: [o.scores.count])
            _ = try summary.write("ci_upper", o.scores.map(\.upper), shape: [o.scores.count])
        }
    }

    /// `/models/member-<k>/…`, `/data/training_indices` and the ensemble attributes.
    static func writeModels(_ o: LDSOutcome, root: HDF5Group) throws {
        if let e = o.ensemble {
            try root.setAttribute("ensemble_size", e.parameters.count)
            if let k = e.projectionDim {
                try root.setAttribute("trak_projection_dim", k)
                try root.setAttribute("trak_projection", e.projection ?? "")
                try root.setAttribute("trak_ridge", e.ridge ?? 0)
                try root.setAttribute("trak_seed", e.trakSeed ?? 0)
            }
            let models = try root.createGroup("models")
            for (k, theta) in e.parameters.enumerated() {
                let g = try models.createGroup("member-\(k)")
                try g.setAttribute("training_seed", e.seeds[k])
                try g.setAttribute("history", e.histories[k])
                for c in e.components {
                    let count = c.shape.reduce(1, *)
                    _ = try g.write(c.name, Array(theta[c.offset..<(c.offset + count)]), shape: c.shape)
                }
            }
        }
        if !o.trainingIndices.isEmpty {
            try root.writeTrainingSet(indices: o.trainingIndices.map(Int64.init), dataSource: o.dataSourceJSON)
        }
    }

    /// The small, committable summary (`lds-summary.json`): the LDS table and the run's scale and timing.
    public struct Summary: Codable {
        public struct Row: Codable {
            public var method: String
            public var description: String
            public var ldsMean: Double
            public var ciLower: Double
            public var ciUpper: Double
            public var undefined: Int
            public var seconds: Double
            enum CodingKeys: String, CodingKey {
                case method, description, ldsMean = "lds_mean", ciLower = "ci_lower", ciUpper = "ci_upper", undefined,
                    seconds
            }
        }
        public var subsetCount: Int
        public var subsetSize: Int
        public var trainingCount: Int
        public var testCount: Int
        public var fullModelAccuracy: Double
        public var subsetModelAccuracyMean: Double
        public var explaindReconstructionError: Double
        public var seconds: [String: Double]
        public var methods: [Row]
        /// K models of `trak` / `explaind-ensemble` and TRAK's projection dimension k (nil without TRAK).
        public var ensembleSize: Int?
        public var trakProjectionDim: Int?
        enum CodingKeys: String, CodingKey {
            case subsetCount = "subset_count", subsetSize = "subset_size", trainingCount = "training_count", testCount =
                "test_count"
            case fullModelAccuracy = "full_model_accuracy", subsetModelAccuracyMean = "subset_model_accuracy_mean"
            case explaindReconstructionError = "explaind_reconstruction_error", seconds, methods
            case ensembleSize = "ensemble_size", trakProjectionDim = "trak_projection_dim"
        }
    }

    public static func summary(_ o: LDSOutcome) -> Summary {
        Summary(
            subsetCount: o.subsets.count, subsetSize: o.subsets.first?.count ?? 0, trainingCount: o.trainingCount,
            testCount: o.testIndices.count, fullModelAccuracy: o.fullAccuracy,
            subsetModelAccuracyMean: o.subsetAccuracies.reduce(0, +) / Double(max(1, o.subsetAccuracies.count)),
            explaindReconstructionError: o.reconstructionError, seconds: o.seconds,
            methods: zip(o.methods, o.scores).map { m, s in
                Summary.Row(
                    method: m.name, description: m.description, ldsMean: s.mean, ciLower: s.lower, ciUpper: s.upper,
                    undefined: s.undefinedCount, seconds: m.seconds)
            }, ensembleSize: o.ensemble?.parameters.count, trakProjectionDim: o.ensemble?.projectionDim)
    }

    public static func writeSummary(_ o: LDSOutcome, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(data: try encoder.encode(summary(o)), to: path)
    }
}
