"""The LDS statistics of explaind's `lds` executable, ported to numpy for ``lds_crosscheck.py`` (docs/METHOD.md §17).

* ``Xoshiro256``: the generator of Sources/Tensor/RNG.swift (xoshiro256** seeded through SplitMix64) with its
  unbiased ``int_below`` (rejection sampling), so that a bootstrap here draws the very resamples ``lds`` drew.
* ``bootstrap_draws`` / ``bootstrap_interval``: RankStatistics.bootstrapMeanInterval: ``resamples`` draws of n test
  examples with replacement from one seeded stream, the mean of each draw's finite values, and the type-7 quantiles
  (1 - level)/2 and (1 + level)/2 of the sorted means. Every method of one `lds` run uses the same seed and n, hence the
  same draws, so the draws are generated once and reused (also for paired differences).
* ``spearman_rows``: Spearman's rho with average ranks for ties, row by row.
* ``fnv1a64``: the dataset checksum of Sources/Data/LabeledDataset.swift (same as python/explaind_history.py).
"""
import numpy as np

MASK = (1 << 64) - 1


class Xoshiro256:
    """xoshiro256** (Blackman & Vigna), seeded by four SplitMix64 outputs, as Sources/Tensor/RNG.swift."""

    def __init__(self, seed):
        x = seed & MASK
        words = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            words.append(z ^ (z >> 31))
        self.s = words

    def next(self):
        s0, s1, s2, s3 = self.s
        m = (s1 * 5) & MASK
        result = ((((m << 7) | (m >> 57)) & MASK) * 9) & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & MASK
        self.s = [s0, s1, s2, s3]
        return result

    def int_below(self, n):
        """Uniform integer in [0, n) by rejection (RNG.int(below:))."""
        limit = MASK - MASK % n
        while True:
            r = self.next()
            if r < limit:
                return r % n


def bootstrap_draws(n, resamples, seed):
    """(resamples, n) example indices, in the order RankStatistics.bootstrapMeanInterval draws them."""
    rng = Xoshiro256(seed)
    return np.array([[rng.int_below(n) for _ in range(n)] for _ in range(resamples)], dtype=np.int64)


def quantile_type7(sorted_values, q):
    h = (len(sorted_values) - 1) * q
    lo = int(np.floor(h))
    hi = min(len(sorted_values) - 1, lo + 1)
    return float(sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo]))


def finite_mean(values):
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.nan) if v.size == 0 else float(sum(v.tolist()) / v.size)


def bootstrap_interval(values, draws, level=0.95):
    """Percentile-bootstrap CI of the mean of the finite ``values`` over the given draws (as ``lds``)."""
    v = np.asarray(values, dtype=np.float64)
    means = []
    for row in draws:
        picked = v[row]
        picked = picked[np.isfinite(picked)]
        if picked.size:
            means.append(sum(picked.tolist()) / picked.size)  # sequential sum, as the Swift loop
    if not means:
        return float("nan"), float("nan")
    means.sort()
    return quantile_type7(means, (1 - level) / 2), quantile_type7(means, (1 + level) / 2)


def average_ranks(x):
    """1-based ranks with ties sharing their average rank, along the last axis."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty_like(x)
    xs = x[order]
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x, y):
    """Spearman's rho (Pearson of average ranks); NaN when either side is constant."""
    rx, ry = average_ranks(x), average_ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    sxx, syy = float(rx @ rx), float(ry @ ry)
    if sxx <= 0 or syy <= 0:
        return float("nan")
    return float(rx @ ry) / (sxx * syy) ** 0.5


def spearman_rows(a, b):
    """Spearman's rho of each row pair of two (n, m) arrays."""
    return np.array([spearman(x, y) for x, y in zip(a, b)])


def subset_sums(scores, subsets):
    """(M, n) predicted outputs: the sum of each test example's scores (n, N) over each subset (M, k)."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.stack([scores[:, s].sum(axis=1) for s in subsets], axis=0)


def fnv1a64(inputs, labels):
    """FNV-1a 64 (hex) of (shape as u64 LE, float32 inputs, labels as i64 LE): LabeledDataset.checksum."""
    x = np.ascontiguousarray(inputs, dtype="<f4")
    data = np.asarray(x.shape, dtype="<u8").tobytes() + x.tobytes() + np.asarray(labels, dtype="<i8").tobytes()
    try:
        import numba  # optional: 15 MB of pixels take ~5 s in pure Python, 0.1 s compiled

        @numba.njit(cache=False)
        def run(buf):
            h = np.uint64(0xCBF29CE484222325)
            prime = np.uint64(0x100000001B3)
            for b in buf:
                h = (h ^ np.uint64(b)) * prime
            return h

        return "%016x" % int(run(np.frombuffer(data, dtype=np.uint8)))
    except ImportError:
        h, prime = 0xCBF29CE484222325, 0x100000001B3
        for byte in data:
            h = ((h ^ byte) * prime) & MASK
        return "%016x" % h
