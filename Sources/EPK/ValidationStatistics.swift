import Foundation

/// How well the EPK reproduces the model (docs/METHOD.md §11, with standard statistics instead of the original's odd ones).
public struct ValidationStatistics: Codable, Equatable, Sendable {
    /// Mean |f(θ_T) − f̂| over the selected rows.
    public var meanAbsoluteError: Double
    /// Max |f(θ_T) − f̂| over the selected rows.
    public var maxAbsoluteError: Double
    /// Fraction of test points whose EPK argmax equals the model's argmax (all-class runs only, else NaN).
    public var argmaxAgreement: Double
    /// Accuracy of the EPK argmax on the labels (all-class runs with labels, else NaN).
    public var epkAccuracy: Double
    /// Accuracy of the model on the labels (NaN without labels).
    public var modelAccuracy: Double
    /// Mean over test points of KL(softmax f(θ_T) ‖ softmax f̂), f̂ re-normalised by log-softmax (all-class runs).
    public var klModelToEPK: Double
    /// Mean over steps of mean |ground-truth step − predicted step|.
    public var meanStepError: Double

    public static func compute(_ r: EPKResult, labels: [Int]?) -> ValidationStatistics {
        let predicted = r.predictedRows, final = r.finalRows
        var sum = 0.0, worst = 0.0
        for (a, b) in zip(predicted, final) { sum += abs(a - b); worst = max(worst, abs(a - b)) }
        let n = r.testCount, C = r.classCount
        var agreement = Double.nan, epkAcc = Double.nan, kl = Double.nan, modelAcc = Double.nan
        func argmax(_ v: ArraySlice<Double>) -> Int { v.indices.max { v[$0] < v[$1] }! - v.startIndex }
        if let labels {
            modelAcc = Double((0..<n).filter { a in argmax(r.finalOutputs[(a * C)..<((a + 1) * C)].map(Double.init)[...]) == labels[a] }.count) / Double(n)
        }
        if r.classesPerTest == C {
            var agree = 0, correct = 0, klSum = 0.0
            for a in 0..<n {
                let f = Array(final[(a * C)..<((a + 1) * C)]), g = Array(predicted[(a * C)..<((a + 1) * C)])
                let am = argmax(g[...])
                if am == argmax(f[...]) { agree += 1 }
                if let labels, am == labels[a] { correct += 1 }
                // log-softmax of the EPK output, then KL(p_model ‖ p_epk).
                let m = g.max()!
                let lse = m + Foundation.log(g.map { Foundation.exp($0 - m) }.reduce(0, +))
                for c in 0..<C { klSum += Foundation.exp(f[c]) * (f[c] - (g[c] - lse)) }
            }
            agreement = Double(agree) / Double(n)
            if labels != nil { epkAcc = Double(correct) / Double(n) }
            kl = klSum / Double(n)
        }
        let T = r.steps.count, rows = r.rowCount
        var stepErr = 0.0
        if !r.stepTruth.isEmpty {
            for i in 0..<(T * rows) { stepErr += Double(abs(r.stepTruth[i] - r.stepPredicted[i])) }
            stepErr /= Double(max(1, T * rows))
        }
        return ValidationStatistics(meanAbsoluteError: sum / Double(max(1, predicted.count)), maxAbsoluteError: worst,
                                    argmaxAgreement: agreement, epkAccuracy: epkAcc, modelAccuracy: modelAcc,
                                    klModelToEPK: kl, meanStepError: stepErr)
    }
}
