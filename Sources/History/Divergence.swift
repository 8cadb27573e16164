import Foundation

/// Training stopped at the first non-finite value (loss, gradient, learning rate, parameters or the recorded
/// optimizer quantity) of step `step`. The step is not recorded: the history holds steps 0..<step, all finite, and
/// stays replayable (`HistoryFileWriter.finishDiverged`).
public struct TrainingDiverged: Error, CustomStringConvertible, Equatable, Sendable {
    /// The step whose values were not finite.
    public let step: Int
    /// What was not finite, e.g. "loss nan" or "gradient: 12 of 1,000 entries non-finite (first at index 3)".
    public let what: String
    /// Steps the history keeps: 0..<keptSteps. A non-finite loss or gradient at θ_step means θ_step itself is
    /// unusable (the EPK needs f and J there), so the step that produced it is dropped too (keptSteps = step − 1);
    /// non-finite θ_{step+1} keeps steps 0..<step.
    public let keptSteps: Int

    public init(step: Int, what: String, atCheckpoint: Bool) {
        self.step = step; self.what = what; keptSteps = atCheckpoint ? max(0, step - 1) : step
    }

    public var description: String {
        "training diverged at step \(step): \(what); the history keeps the first \(keptSteps) steps, whose parameters have a finite loss and gradient"
    }
}

/// The finiteness checks of `Trainer.run`, one pass over each vector (negligible next to a forward/backward pass).
enum Divergence {
    static func check(step: Int, loss: Double, gradient: [Float], learningRate: Double) throws {
        guard loss.isFinite else {
            throw TrainingDiverged(step: step, what: "batch loss \(loss) at θ_\(step)", atCheckpoint: true)
        }
        guard learningRate.isFinite else {
            throw TrainingDiverged(step: step, what: "learning rate \(learningRate)", atCheckpoint: false)
        }
        if let problem = firstNonFinite(gradient, name: "gradient at θ_\(step)") {
            throw TrainingDiverged(step: step, what: problem, atCheckpoint: true)
        }
    }

    static func check(step: Int, parameters: [Float], quantity: [Float]) throws {
        if let problem = firstNonFinite(parameters, name: "parameters θ_\(step + 1) after the update") {
            throw TrainingDiverged(step: step, what: problem, atCheckpoint: false)
        }
        if let problem = firstNonFinite(quantity, name: "optimizer quantity") {
            throw TrainingDiverged(step: step, what: problem, atCheckpoint: false)
        }
    }

    /// nil when every entry is finite, else "name: k of n entries non-finite (first: index i = v)".
    static func firstNonFinite(_ v: [Float], name: String) -> String? {
        if allFinite(v) { return nil }
        var count = 0, first = -1
        v.withUnsafeBufferPointer { b in
            for i in b.indices where !b[i].isFinite {
                if first < 0 { first = i }
                count += 1
            }
        }
        guard first >= 0 else { return nil }
        return "\(name): \(count) of \(v.count) entries non-finite (first: index \(first) = \(v[first]))"
    }

    /// Whether every entry is finite, sixteen at a time without a branch per entry: x · 0 is ±0 for finite x and NaN
    /// for ±∞ and NaN, and a sum of ±0s is ±0.
    static func allFinite(_ v: [Float]) -> Bool {
        v.withUnsafeBufferPointer { b in
            guard let base = b.baseAddress else { return true }
            var lanes = SIMD16<Float>(), i = 0
            while i + 16 <= b.count {
                lanes += UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) * 0
                i += 16
            }
            var rest: Float = 0
            while i < b.count {
                rest += base[i] * 0
                i += 1
            }
            return lanes.sum() + rest == 0
        }
    }
}

extension HistoryFileWriter {
    /// Ends a diverged run: records `diverged` (the one-line reason) and `steps_completed` on the root, then renames
    /// the file to its final name like `finish()`. Every recorded step is finite and the file replays like any other;
    /// readers see `HistoryFileReader.divergence` and `reproduce` never counts the run as up to date.
    public func finishDiverged(_ error: TrainingDiverged) throws {
        let root = try file.root
        let steps = try root.read("metrics/step", as: Double.self).values
        try truncate(steps: error.keptSteps, epochs: steps.filter { $0 <= Double(error.keptSteps) }.count)
        if root.contains("resume") { try root.remove("resume") }
        try root.setAttribute("diverged", error.description)
        try root.setAttribute("steps_completed", error.keptSteps)
        try finish()
    }
}

extension HistoryFileReader {
    /// The reason a run stopped early on a non-finite value, or nil for a run that ended normally.
    public var divergence: String? {
        guard let root = try? file.root, root.hasAttribute("diverged") else { return nil }
        return try? root.stringAttribute("diverged")
    }
}
