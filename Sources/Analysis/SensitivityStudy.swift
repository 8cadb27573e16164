import EPK
import Foundation
import History
import NN
import Tensor

/// Replication error of the EPK as a function of the integration rule, the number of points, the early-step rule
/// and the storage precision of the history (docs/METHOD.md §18).
///
/// Every setting is compared with the **float32 model itself**: per step, |f(θ_{t+1}) − f(θ_t) − predicted step|
/// over all (test point, class) rows; at the end, |f(θ_T) − f̂| with f̂ = f(θ̃₀) + Σ_t predicted step (θ̃ the
/// checkpoints as stored, i.e. rounded for the reduced-precision settings). Validation rows use the engine's cheap
/// per-sample dot products (no data or parameter attribution).
///
/// On a step range a..<b (steps t = a … b − 1) everything is the same with θ_a as the start and θ_b as the end: the
/// per-step errors are those of the whole-history run at the same steps, and the final error is |f(θ_b) − f̂| with
/// f̂ = f(θ̃_a) + Σ_{a ≤ t < b} predicted step. The early rule applies to the steps t < earlySteps inside the range.
public enum SensitivityStudy {
    /// One setting: a rule with n points, optionally the early-step rule, at a storage precision.
    public struct Setting: Codable, Equatable, Sendable {
        public var rule: QuadratureRule
        public var points: Int
        /// Early rule: steps t < earlySteps use `earlyPoints` (0 steps = off).
        public var earlySteps: Int
        public var earlyPoints: Int
        public var precision: StoragePrecision
        public init(
            rule: QuadratureRule, points: Int, earlySteps: Int = 0, earlyPoints: Int? = nil,
            precision: StoragePrecision = .float32
        ) {
            self.rule = rule; self.points = points; self.earlySteps = earlySteps;
            self.earlyPoints = earlyPoints ?? points
            self.precision = precision
        }
        public var quadrature: QuadratureConfig {
            QuadratureConfig(rule: rule, points: points, earlyPoints: earlyPoints, earlySteps: earlySteps)
        }
        public var usesEarlyRule: Bool { earlySteps > 0 && earlyPoints > points }
        public var label: String {
            var s = "\(rule.rawValue) \(points)"
            if usesEarlyRule { s += " + early \(earlyPoints)×\(earlySteps)" }
            if precision != .float32 { s += " [\(precision.rawValue)]" }
            return s
        }
        enum CodingKeys: String, CodingKey {
            case rule, points, earlySteps = "early_steps", earlyPoints = "early_points", precision
        }
    }

    /// What one setting achieved.
    public struct Measurement: Sendable {
        public var setting: Setting
        /// Mean gradient evaluations (Jacobian points) per step.
        public var evaluationsPerStep: Double
        /// Mean |f(θ_end) − f̂| and max over rows (θ_end the end of the step range, θ_T for the whole history).
        public var finalError: Double
        public var finalMaxError: Double
        /// Mean over steps and rows of |ground-truth step − predicted step|.
        public var stepError: Double
        /// (steps in the range) mean over rows of the per-step error.
        public var perStepError: [Double]
        /// Fraction of test points whose argmax f̂ equals the model's argmax (all-class rows).
        public var agreement: Double
        /// Wall-clock seconds per step (the early rule reuses the base run for t ≥ earlySteps: estimated).
        public var secondsPerStep: Double
        /// Mean over rows of |Σ_k kernel part − the float32 run's at the same quadrature| (precision settings; 0 otherwise).
        public var kernelDeviation: Double
    }

    /// Raw per-run pieces kept to combine runs.
    struct Run {
        var initial: [Double]  // (rows)
        var stepPredicted: [Float]  // (T', rows)
        var stepTruth: [Float]
        var final: [Double]  // (rows)
        var kernelTotal: [Double]  // (rows)
        var seconds: Double
        var steps: Range<Int>
    }

    /// Runs every setting on the given test points (all classes) over `steps` (default: the whole history); the
    /// truth scale has one entry per step of the range.
    public static func measure(
        model: Model, history: TrainingHistory, data: ReplayData, testInputs: Tensor,
        settings: [Setting], steps range: Range<Int>? = nil, memoryBudgetBytes: Int = 1 << 30,
        log: ((String) -> Void)? = nil
    ) throws -> (measurements: [Measurement], truthScale: [Double]) {
        let range = range ?? 0..<history.stepCount
        let T = range.count
        var cache: [String: Run] = [:]
        func run(_ quadrature: QuadratureConfig, precision: StoragePrecision, steps: Range<Int>) throws -> Run {
            let key =
                "\(quadrature.rule.rawValue)/\(quadrature.points)/\(quadrature.earlyPoints)/\(quadrature.earlySteps)/\(precision.rawValue)/\(steps)"
            if let r = cache[key] { return r }
            let h: TrainingHistory = precision == .float32 ? history : RoundedHistory(history, precision: precision)
            let engine = try EPKEngine(
                model: model, history: h, data: data,
                options: EPKOptions(
                    quadrature: quadrature, classes: .all, memoryBudgetBytes: memoryBudgetBytes,
                    steps: steps))
            let start = Date()
            let r = try engine.run(testInputs: testInputs, testLabels: nil)
            let seconds = Date().timeIntervalSince(start)
            let K = r.componentCount
            let rows = r.rowCount
            let initial = (0..<rows).map {
                Double(r.initialOutputs[(($0 / r.classesPerTest) * r.classCount) + r.rowClasses[$0]])
            }
            let kernel = (0..<rows).map { row in (0..<K).reduce(0.0) { $0 + r.kernelByComponent[row * K + $1] } }
            let out = Run(
                initial: initial, stepPredicted: r.stepPredicted, stepTruth: r.stepTruth, final: r.finalRows,
                kernelTotal: kernel, seconds: seconds, steps: steps)
            cache[key] = out
            log?(
                String(
                    format: "%@ [%@] steps %d..<%d: %.2f s",
                    quadrature.rule.rawValue
                        + " \(quadrature.points)/\(quadrature.earlyPoints)×\(quadrature.earlySteps)",
                    precision.rawValue, steps.lowerBound, steps.upperBound, seconds))
            return out
        }

        // The float32 truth: every float32 run of the range records the same ground-truth steps.
        let reference = try run(QuadratureConfig(rule: .midpoint, points: 1), precision: .float32, steps: range)
        let rows = reference.initial.count, C = model.classCount, n = rows / C
        let truthScale = (0..<T).map { t in
            (0..<rows).reduce(0.0) { $0 + Double(abs(reference.stepTruth[t * rows + $1])) } / Double(rows)
        }

        var out: [Measurement] = []
        for setting in settings {
            let plain = QuadratureConfig(rule: setting.rule, points: setting.points)
            let baseRun = try run(plain, precision: setting.precision, steps: range)
            var predicted = baseRun.stepPredicted
            var seconds = baseRun.seconds
            let kernel = baseRun.kernelTotal
            // The early rule's steps inside the range: range.lowerBound ..< min(range.upperBound, earlySteps).
            let e = setting.usesEarlyRule ? max(0, min(range.upperBound, setting.earlySteps) - range.lowerBound) : 0
            if e > 0 {
                let early = try run(
                    setting.quadrature, precision: setting.precision,
                    steps: range.lowerBound..<(range.lowerBound + e))
                for i in 0..<(e * rows) { predicted[i] = early.stepPredicted[i] }
                seconds = baseRun.seconds * Double(T - e) / Double(T) + early.seconds
            }
            var perStep = [Double](repeating: 0, count: T)
            var stepSum = 0.0
            var fhat = baseRun.initial
            for t in 0..<T {
                for r in 0..<rows {
                    let i = t * rows + r
                    let e = Double(abs(reference.stepTruth[i] - predicted[i]))
                    perStep[t] += e / Double(rows); stepSum += e
                    fhat[r] += Double(predicted[i])
                }
            }
            var finalSum = 0.0, finalMax = 0.0
            for r in 0..<rows {
                let e = abs(fhat[r] - reference.final[r]); finalSum += e; finalMax = max(finalMax, e)
            }
            var agree = 0
            for a in 0..<n {
                var bf = 0, bm = 0
                for c in 1..<C {
                    if fhat[a * C + c] > fhat[a * C + bf] { bf = c }
                    if reference.final[a * C + c] > reference.final[a * C + bm] { bm = c }
                }
                if bf == bm { agree += 1 }
            }
            var kernelDeviation = 0.0
            if setting.precision != .float32 {
                let fp32 = try run(plain, precision: .float32, steps: range)
                kernelDeviation = zip(kernel, fp32.kernelTotal).reduce(0.0) { $0 + abs($1.0 - $1.1) } / Double(rows)
            }
            let evaluations = Double(range.reduce(0) { $0 + setting.quadrature.pointCount(forStep: $1) }) / Double(T)
            out.append(
                Measurement(
                    setting: setting, evaluationsPerStep: evaluations, finalError: finalSum / Double(rows),
                    finalMaxError: finalMax, stepError: stepSum / Double(T * rows), perStepError: perStep,
                    agreement: Double(agree) / Double(max(1, n)), secondsPerStep: seconds / Double(T),
                    kernelDeviation: kernelDeviation))
        }
        return (out, truthScale)
    }
}
