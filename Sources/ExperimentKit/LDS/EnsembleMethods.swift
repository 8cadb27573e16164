import Analysis
import Artifacts
import EPK
import Foundation
import History
import NN
import Tensor

extension AttributionMethods {
    /// ExPLAIND's total data attribution I(x, y_x, j) of this run (all steps, all components), (n × N).
    public func explaindTotal(quadrature: QuadratureConfig, memoryBudgetBytes: Int, label: String) throws -> [Float] {
        let progress = Progress(label: label, total: history.stepCount)
        var options = EPKOptions(
            quadrature: quadrature, classes: .target, attributionClasses: .selected,
            dataAttributionGroups: [ComponentGroup(name: "all", components: model.layout.names)],
            memoryBudgetBytes: memoryBudgetBytes)
        options.progress = { done, all in progress.advance(status: "step \(done)/\(all)") }
        let engine = try EPKEngine(model: model, history: history, data: DatasetReplay(train), options: options)
        let result = try engine.run(testInputs: testInputs, testLabels: testLabels)
        progress.finish()
        return result.dataAttribution[0].values
    }

    /// TRAK's kernel part X (n × N) and Q = 1 − p_j (N) of the model at `theta` (docs/METHOD.md §17, `TRAK`).
    /// Training gradients are projected `chunk` samples at a time, so at most chunk × P gradients are held.
    public func trakMember(
        parameters theta: [Float], projection: RandomProjection, ridge: Double, chunk: Int
    ) throws -> (kernel: [Double], q: [Double]) {
        let trainFeatures = TRAK.features(
            model: model, parameters: theta, inputs: train.inputs, labels: train.labels,
            projection: projection, chunk: chunk)
        let testFeatures = TRAK.features(
            model: model, parameters: theta, inputs: testInputs, labels: testLabels,
            projection: projection, chunk: chunk)
        do {
            let kernel = try TRAK.kernelPart(
                train: trainFeatures.phi, test: testFeatures.phi, k: projection.outputDimension, ridge: ridge)
            return (kernel, trainFeatures.oneMinusP)
        } catch let e as TRAKError {
            throw ArtifactError(.config, "key 'trak': \(e.message)")
        }
    }
}

extension LDSDriver {
    /// TRAK's k (P with no projection), checked against the training count before any work is done.
    static func trakDimension(_ t: TRAKConfig, parameterCount P: Int, trainingCount N: Int) throws -> Int {
        let k = t.kind == .identity ? P : t.projectionDim!
        guard k <= N else {
            throw ArtifactError(
                .config,
                "key 'trak.projection_dim': expected at most the \(N) training samples (ΦᵀΦ is singular otherwise), found \(k)\(t.kind == .identity ? " (k = P with projection 'none')" : "")"
            )
        }
        return k
    }

    /// The ensemble methods of an LDS run: `explaind-ensemble` (with `ensemble_size`), `trak` and `trak-single`
    /// (with `trak`), and the record of the K members for `lds.h5`. `explaindScores` is member 0's ExPLAIND total.
    static func ensembleMethods(
        config: LDSConfig, setup: ReplaySetup, explaindScores: [Float], testInputs: Tensor, testLabels: [Int],
        out: String, dataDirectory: String?, seconds: inout [String: Double]
    )
        throws -> (explaind: [MethodScores], trak: [MethodScores], record: EnsembleRecord)
    {
        let K = config.ensembleSize ?? 1
        let train = setup.data.train
        let theta0 = try setup.history.parameters(at: setup.history.stepCount)
        var start = Date()
        let members = try EnsembleMembers.prepare(
            count: K, base: setup.trainConfig, out: out, dataDirectory: dataDirectory, trainCount: train.count)
        if K > 1 { seconds["ensemble_training"] = Date().timeIntervalSince(start) }
        let thetas = [theta0] + (try members.map { try $0.history.parameters(at: $0.history.stepCount) })
        let methodsOf: [AttributionMethods] =
            [
                AttributionMethods(
                    model: setup.model, history: setup.history, train: train, testInputs: testInputs,
                    testLabels: testLabels)
            ]
            + members.map {
                AttributionMethods(
                    model: $0.model, history: $0.history, train: train, testInputs: testInputs, testLabels: testLabels)
            }
        let budget = Int(config.memoryBudgetGb * 1_073_741_824)
        var record = EnsembleRecord(
            components: setup.model.layout.components.map { ($0.name, $0.shape, $0.offset) }, parameters: thetas,
            seeds: (0..<K).map { setup.trainConfig.training.seed + $0 },
            histories: [config.history]
                + (1..<max(K, 1)).map { EnsembleMembers.directory(out: out, member: $0) + "/history.h5" })

        var explaind: [MethodScores] = []
        if config.ensembleSize != nil {
            start = Date()
            var sum = explaindScores
            for (k, m) in methodsOf.enumerated().dropFirst() {
                let s = try m.explaindTotal(
                    quadrature: config.quadrature, memoryBudgetBytes: budget, label: "explaind member \(k)/\(K - 1)")
                for i in sum.indices { sum[i] += s[i] }
            }
            let scale = Float(K)
            for i in sum.indices { sum[i] /= scale }
            seconds["explaind_ensemble"] = Date().timeIntervalSince(start)
            explaind.append(
                MethodScores(
                    name: "explaind-ensemble",
                    description:
                        "mean ExPLAIND I(x, y_x, j) over K = \(K) runs of the recipe (training seeds \(record.seeds.map(String.init).joined(separator: ", ")))",
                    scores: sum, seconds: seconds["explaind_ensemble"]! + (seconds["ensemble_training"] ?? 0)))
        }

        var trak: [MethodScores] = []
        if let t = config.trak {
            let P = setup.model.parameterCount
            let k = try trakDimension(t, parameterCount: P, trainingCount: train.count)
            let ridge = t.ridge ?? 0
            // At most a quarter of the budget for one chunk of per-sample gradients, half for a cached projection.
            let chunk = max(1, min(1000, budget / 4 / max(1, P * 4)))
            start = Date()
            var kernels: [[Double]] = [], qs: [[Double]] = []
            var singleSeconds = 0.0
            let progress = Progress(label: "trak", total: K)
            for (m, methods) in methodsOf.enumerated() {
                let memberStart = Date()
                let projection = RandomProjection(
                    kind: t.kind, inputDimension: P, outputDimension: k, seed: UInt64(t.seed),
                    stream: UInt64(m), cacheBytes: budget / 2)
                let part = try methods.trakMember(
                    parameters: thetas[m], projection: projection, ridge: ridge, chunk: chunk)
                kernels.append(part.kernel); qs.append(part.q)
                if m == 0 { singleSeconds = Date().timeIntervalSince(memberStart) }
                progress.advance(status: "member \(m)")
            }
            progress.finish()
            seconds["trak"] = Date().timeIntervalSince(start)
            let n = testLabels.count
            let what =
                "TRAK φ(z)ᵀ(ΦᵀΦ\(ridge > 0 ? " + λI" : ""))⁻¹φ_j (1 − p_j) on margin gradients, \(t.kind == .identity ? "no projection (k = P = \(P))" : "\(t.kind.rawValue) projection k = \(k)")"
            trak.append(
                MethodScores(
                    name: "trak", description: what + ", ensemble of K = \(K) models (kernel parts and 1 − p averaged)",
                    scores: TRAK.combine(kernelParts: kernels, q: qs, testCount: n),
                    seconds: seconds["trak"]! + (seconds["ensemble_training"] ?? 0)))
            trak.append(
                MethodScores(
                    name: "trak-single", description: what + ", K = 1 (the history's model only)",
                    scores: TRAK.combine(kernelParts: [kernels[0]], q: [qs[0]], testCount: n), seconds: singleSeconds))
            record.projectionDim = k; record.projection = t.kind.rawValue; record.ridge = ridge;
            record.trakSeed = t.seed
        }
        return (explaind, trak, record)
    }
}
