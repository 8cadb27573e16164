import Artifacts
import EPK
import NN

/// Range checks beyond the basic ones of each config's `validate()`: values that would otherwise trap at run time
/// (negative seeds converted to unsigned, counts the data cannot hold, overflowing sums, absurd sizes) become one
/// `ConfigError` naming the key and the accepted range. Upper bounds are generous but finite, so no config can ask
/// for an allocation the machine cannot make before a single step runs (see docs/RELIABILITY.md).
public enum ConfigLimits {
    /// Largest number of optimizer steps or epochs a config may ask for.
    public static let maxSteps = 100_000_000
    public static let maxEpochs = 1_000_000
    /// Largest test-point count and offset of an EPK config.
    public static let maxTestPoints = 10_000_000
    /// Largest number of quadrature points per step integral (the refined cap included).
    public static let maxQuadraturePoints = 4096
    /// Largest working-memory budget of the EPK engine, in GiB.
    public static let maxMemoryBudgetGb = 1024.0
    /// Largest modulus of the modulo task: tokens 0…p+1 must fit the transformer's vocabulary.
    public static var maxPrime: Int { ModuloTransformer.vocabularySize - 2 }
}

extension TrainConfig {
    /// The checks of `ConfigLimits` for a training config.
    func validateLimits() throws {
        let o = optimizer, t = training
        try ConfigError.require(o.lr.isFinite, keyPath: "optimizer.lr", expected: "a finite number", found: o.lr)
        if let e = o.eps {
            try ConfigError.require(
                e >= 0, keyPath: "optimizer.eps", expected: "a non-negative number (PyTorch default 1e-8)", found: e)
        }
        if let d = o.dampening {
            try ConfigError.require(
                d >= 0 && d <= 1, keyPath: "optimizer.dampening", expected: "a number in [0, 1]", found: d)
        }
        try ConfigError.require(
            t.seed >= 0, keyPath: "training.seed", expected: "a non-negative integer", found: t.seed)
        try ConfigError.require(
            t.batchSize <= 10_000_000, keyPath: "training.batch_size", expected: "at most 10000000", found: t.batchSize)
        if let e = t.epochs {
            try ConfigError.require(
                e <= ConfigLimits.maxEpochs, keyPath: "training.epochs", expected: "at most \(ConfigLimits.maxEpochs)",
                found: e)
        }
        if let s = t.maxSteps {
            try ConfigError.require(
                s <= ConfigLimits.maxSteps, keyPath: "training.max_steps", expected: "at most \(ConfigLimits.maxSteps)",
                found: s)
        }
        try schedule.validateLimits()
        try data.validate(experiment: experiment)
    }
}

extension ScheduleConfig {
    /// Piecewise-linear knots: integral steps in 0…max_steps bound, strictly increasing, multipliers finite and ≥ 0
    /// (a negative multiplier would train at a negative learning rate).
    func validateLimits() throws {
        guard kind == "piecewise-linear", let pts = points else { return }
        for (i, p) in pts.enumerated() where p.count == 2 {
            try ConfigError.require(
                p[0] >= 0 && p[0] <= Double(ConfigLimits.maxSteps) && p[0] == p[0].rounded(),
                keyPath: "schedule.points[\(i)][0]", expected: "an integral step in 0…\(ConfigLimits.maxSteps)",
                found: p[0])
            try ConfigError.require(
                p[1].isFinite && p[1] >= 0, keyPath: "schedule.points[\(i)][1]",
                expected: "a non-negative multiplier (a negative one trains at a negative learning rate)", found: p[1])
            if i > 0 {
                try ConfigError.require(
                    p[0] > pts[i - 1][0], keyPath: "schedule.points[\(i)][0]",
                    expected: "a step above the previous point's \(pts[i - 1][0]) (sort the points by step)",
                    found: p[0])
            }
        }
    }
}

extension DataConfig {
    /// The keys that apply to `experiment`: non-negative seeds, positive counts the data can hold, a modulus the
    /// model's vocabulary can hold.
    func validate(experiment: String) throws {
        for (key, value) in [("data.split_seed", splitSeed), ("data.subset_seed", subsetSeed)] {
            if let v = value {
                try ConfigError.require(v >= 0, keyPath: key, expected: "a non-negative integer", found: v)
            }
        }
        for (key, value) in [
            ("data.train_count", trainCount), ("data.validation_count", validationCount),
            ("data.test_count", testCount), ("data.train_limit", trainLimit), ("data.test_limit", testLimit),
        ] {
            if let v = value { try ConfigError.require(v >= 1, keyPath: key, expected: "a positive integer", found: v) }
        }
        switch experiment {
        case "modulo":
            let p = prime ?? 113
            try ConfigError.require(
                p >= 2 && p <= ConfigLimits.maxPrime, keyPath: "data.prime",
                expected:
                    "an integer in 2…\(ConfigLimits.maxPrime) (tokens 0…p+1 must fit the model's vocabulary of \(ModuloTransformer.vocabularySize))",
                found: p)
            let pairs = p * (p + 1) / 2, train = trainCount ?? 4000, validation = validationCount ?? 2000
            try ConfigError.require(
                train + validation <= pairs, keyPath: "data.train_count",
                expected:
                    "train_count + validation_count ≤ \(pairs) (the pairs b ≤ a < \(p)); lower train_count to at most \(max(0, pairs - validation))",
                found: train)
        case "mnist":
            if let n = trainCount {
                try ConfigError.require(
                    n <= 60_000, keyPath: "data.train_count", expected: "at most 60000 (the MNIST training split)",
                    found: n)
            }
            if let n = testCount {
                try ConfigError.require(
                    n <= 10_000, keyPath: "data.test_count", expected: "at most 10000 (the MNIST test split)", found: n)
            }
        default: break
        }
    }
}

extension EPKConfig {
    /// Upper bounds that keep sums from overflowing and allocations sane.
    func validateLimits() throws {
        let maxT = ConfigLimits.maxTestPoints, maxQ = ConfigLimits.maxQuadraturePoints
        try ConfigError.require(testCount <= maxT, keyPath: "test_count", expected: "at most \(maxT)", found: testCount)
        try ConfigError.require(
            (testOffset ?? 0) <= maxT, keyPath: "test_offset", expected: "an integer in 0…\(maxT)",
            found: testOffset ?? 0)
        try ConfigError.require(
            quadrature.points <= maxQ, keyPath: "quadrature.points", expected: "an integer in 1…\(maxQ)",
            found: quadrature.points)
        try ConfigError.require(
            quadrature.earlyPoints <= maxQ, keyPath: "quadrature.early_points", expected: "an integer in 1…\(maxQ)",
            found: quadrature.earlyPoints)
        try ConfigError.require(
            quadrature.earlySteps <= ConfigLimits.maxSteps, keyPath: "quadrature.early_steps",
            expected: "an integer in 0…\(ConfigLimits.maxSteps)", found: quadrature.earlySteps)
        if let r = quadrature.refine {
            try ConfigError.require(
                r.maxPoints <= maxQ, keyPath: "quadrature.refine.max_points",
                expected: "an integer in 3 × points…\(maxQ)", found: r.maxPoints)
            try ConfigError.require(
                r.tolerance.isFinite, keyPath: "quadrature.refine.tolerance", expected: "a finite positive number",
                found: r.tolerance)
        }
        try ConfigError.require(
            memoryBudgetGb <= ConfigLimits.maxMemoryBudgetGb, keyPath: "memory_budget_gb",
            expected: "a number in (0, \(Int(ConfigLimits.maxMemoryBudgetGb))] GiB", found: memoryBudgetGb)
    }
}
