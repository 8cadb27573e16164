/// The learning rate η_t used by optimizer step t (t = 0 is the first `step` call), as PyTorch's `LambdaLR` sets it.
///
/// `LambdaLR` writes `base · s(0)` into the optimizer at construction and `base · s(t)` after the t-th
/// `scheduler.step()`, which the training loop calls after each `optimizer.step()`. So step t uses `base · s(t)`;
/// this is also the `lr` the SGD history records in optimizer checkpoint t+1 (docs/METHOD.md §2).
/// Values are Doubles, like the Python floats PyTorch keeps in `param_group["lr"]`.
public enum LearningRateSchedule: Equatable, Sendable {
    /// η_t = `learningRate` for every step (the modulo AdamW run: 1e-3, docs/METHOD.md §14).
    case constant(Double)
    /// η_t = `base · s(t)`, where s interpolates linearly between `points` (sorted by step, as `numpy.interp`)
    /// and is held at the first / last multiplier before the first / after the last point.
    case piecewiseLinear(points: [SchedulePoint], base: Double)

    /// One knot (step, multiplier) of a piecewise-linear schedule.
    public struct SchedulePoint: Equatable, Sendable {
        /// Optimizer step index (0-based).
        public let step: Int
        /// Multiplier s at that step.
        public let multiplier: Double
        /// A knot at `step` with multiplier `multiplier`.
        public init(step: Int, multiplier: Double) {
            self.step = step
            self.multiplier = multiplier
        }
    }

    /// A piecewise-linear schedule from `(step, multiplier)` pairs with strictly increasing steps.
    public static func piecewiseLinear(
        _ points: [(step: Int, multiplier: Double)], base: Double
    ) -> LearningRateSchedule {
        precondition(!points.isEmpty, "LearningRateSchedule: a piecewise-linear schedule needs at least one point")
        for (a, b) in zip(points, points.dropFirst()) {
            precondition(a.step < b.step, "LearningRateSchedule: steps must increase strictly (\(a.step), \(b.step))")
        }
        return .piecewiseLinear(
            points: points.map { SchedulePoint(step: $0.step, multiplier: $0.multiplier) }, base: base)
    }

    /// The CIFAR-2 triangle of docs/METHOD.md §14: s passes through (0 → 0), (`peakStep` → 1), (`finalStep` → 0) and
    /// η_t = `base · s(t)`. The paper's values are base 0.1, peak 195 (5 epochs × 39 steps), final 468 (12 epochs);
    /// step 0 therefore has η = 0 (its gradient still enters the momentum buffer).
    public static func triangle(base: Double = 0.1, peakStep: Int = 195, finalStep: Int = 468) -> LearningRateSchedule {
        piecewiseLinear([(0, 0), (peakStep, 1), (finalStep, 0)], base: base)
    }

    /// The learning rate of optimizer step `step` (0-based).
    public func learningRate(atStep step: Int) -> Double {
        switch self {
        case .constant(let value):
            return value
        case .piecewiseLinear(let points, let base):
            return base * Self.interpolate(points, at: step)
        }
    }

    /// `numpy.interp(step, xp, fp)`: `fp[j] + slope · (x − xp[j])` on the segment holding x, clamped outside.
    static func interpolate(_ points: [SchedulePoint], at step: Int) -> Double {
        if step <= points[0].step { return points[0].multiplier }
        let last = points[points.count - 1]
        if step >= last.step { return last.multiplier }
        var j = 0
        while points[j + 1].step < step { j += 1 }
        let left = points[j], right = points[j + 1]
        if step == right.step { return right.multiplier }
        let slope = (right.multiplier - left.multiplier) / Double(right.step - left.step)
        return left.multiplier + slope * Double(step - left.step)
    }
}
