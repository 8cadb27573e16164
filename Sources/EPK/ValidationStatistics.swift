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

    /// Why these statistics mean the EPK failed (a non-finite error, or a non-finite KL in an all-class run), or nil.
    public var failure: String? { Self.failure(fields) }

    /// `failure` from stored `/validation` attributes (name → value), as `reproduce` reads them.
    public static func failure(_ fields: [(String, Double)]) -> String? {
        let values = Dictionary(fields, uniquingKeysWith: { a, _ in a })
        var bad = ["mean_abs_error", "max_abs_error", "mean_step_error"].filter {
            values[$0].map { !$0.isFinite } ?? true
        }
        if let agreement = values["argmax_agreement"], !agreement.isNaN, let kl = values["kl_model_epk"], !kl.isFinite {
            bad.append("kl_model_epk")
        }
        guard !bad.isEmpty else { return nil }
        return "non-finite validation ("
            + bad.map { "\($0) \(values[$0].map { "\($0)" } ?? "absent")" }.joined(separator: ", ") + ")"
    }

    public static func compute(_ r: EPKResult, labels: [Int]?) -> ValidationStatistics {
        let predicted = r.predictedRows, final = r.finalRows
        // NaN is failure, never agreement: a non-finite error makes the mean and max NaN (Swift's max drops NaN), and
        // a row with a non-finite value has no argmax, so it neither agrees nor counts as correct.
        var sum = 0.0, worst = 0.0, nonFinite = false
        for (a, b) in zip(predicted, final) {
            let e = abs(a - b)
            if !e.isFinite { nonFinite = true }
            sum += e; worst = max(worst, e)
        }
        if nonFinite { sum = .nan; worst = .nan }
        let n = r.testCount, C = r.classCount
        var agreement = Double.nan, epkAcc = Double.nan, kl = Double.nan, modelAcc = Double.nan
        func argmax(_ v: ArraySlice<Double>) -> Int? {
            guard v.allSatisfy(\.isFinite) else { return nil }
            return v.indices.max { v[$0] < v[$1] }! - v.startIndex
        }
        if let labels {
            modelAcc =
                Double(
                    (0..<n).filter { a in
                        argmax(r.finalOutputs[(a * C)..<((a + 1) * C)].map(Double.init)[...]) == labels[a]
                    }.count) / Double(n)
        }
        if r.classesPerTest == C {
            var agree = 0, correct = 0, klSum = 0.0
            for a in 0..<n {
                let f = Array(final[(a * C)..<((a + 1) * C)]), g = Array(predicted[(a * C)..<((a + 1) * C)])
                guard let am = argmax(g[...]), let fm = argmax(f[...]) else { klSum = .nan; continue }
                if am == fm { agree += 1 }
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
            for i in 0..<(T * rows) {
                let e = Double(abs(r.stepTruth[i] - r.stepPredicted[i]))
                stepErr += e.isFinite ? e : .nan
            }
            stepErr /= Double(max(1, T * rows))
        }
        return ValidationStatistics(
            meanAbsoluteError: sum / Double(max(1, predicted.count)), maxAbsoluteError: worst,
            argmaxAgreement: agreement, epkAccuracy: epkAcc, modelAccuracy: modelAcc,
            klModelToEPK: kl, meanStepError: stepErr)
    }
}
