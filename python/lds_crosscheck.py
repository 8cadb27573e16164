#!/usr/bin/env python3
"""Cross-checks the TRAK and influence-function LDS of explaind's ``lds`` executable against dattri
(pip ``dattri`` + ``torch``; docs/METHOD.md §17).

    python python/lds_crosscheck.py results/lds/paper/lds.h5 [--history H] [--data DIR] [--out DIR]

1. Rebuilds the MNIST MLP (784-128-10 ReLU; ``fc1.weight`` is (128, 784) = nn.Linear's (out, in)) with θ_T, the last
   parameters of the full-data history named by lds.h5, on the training set that history indexes (IDX hashes and the
   dataset checksum are verified), and first asserts that it reproduces ``/full_model/margins``
   (log p_y − log(1 − p_y)) within 1e-4 · max(1, |margin|).
2. Computes dattri's scores on the same training set and test examples, through its public API (``AttributionTask``):
   - ``TRAKAttributor`` on the single model θ_T: margin gradients on both sides, Q = 1 − p_y; projection dimension,
     kind and seed from the lds config's ``trak`` block (default 2048, Gaussian); our relative ridge
     λ = ridge · tr(ΦᵀΦ)/k is passed as dattri's absolute ``regularization`` through E‖φ‖² = ‖g‖²/P.
   - ``IFAttributorCG``: cross-entropy on both sides (dattri's MNIST benchmark), the Hessian of the mean training loss
     at θ_T, ``regularization`` = damping + the recipe's SGD weight decay (our objective holds (wd/2)‖θ‖²); CG
     iterations from ``influence.cg_iterations`` (dattri runs exactly that many; it has no tolerance stop, so the
     relative residual ‖(H + rI)u − g‖/‖g‖ of its solutions is reported).
3. Scores both against ``/ground_truth/margins`` on ``/subsets/indices`` with ``dattri.metric.lds`` (scipy's
   Spearman), and takes the 95 % CI with the very bootstrap resamples of ``lds`` (lds_stats.py). Compares with our
   ``/methods/trak-single`` and ``/methods/influence`` (absent methods are reported as absent) and, for context, with
   every method of lds.h5, including the mean Spearman correlation of the per-example score rows.
4. Prints the table and writes ``crosscheck.json`` and ``crosscheck.md`` next to lds.h5 (or in --out), atomically.

Exit codes: 0 done, or skipped (one line "skipped: …") when numpy, h5py, torch or dattri is missing;
1 bad input or failure (one line on stderr naming it and the fix); 3 the rebuilt model does not reproduce the margins.
"""
import argparse
import json
import os
import sys
import time

EXIT_INPUT, EXIT_MARGIN = 1, 3


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("lds", help="lds.h5 written by the `lds` executable")
    p.add_argument("--history", help="full-data history.h5 (default: the path stored in lds.h5)")
    p.add_argument("--data", help="directory of the MNIST IDX files (default: where the history's data_source points)")
    p.add_argument("--out", help="directory of crosscheck.json/.md (default: the directory of lds.h5)")
    p.add_argument("--methods", default="trak,influence", help="dattri methods to run: trak, influence (comma-separated)")
    p.add_argument("--proj-dim", type=int, help="TRAK projection dimension (default: trak.projection_dim, else 2048)")
    p.add_argument("--cg-iters", type=int, help="CG iterations of dattri's IF (default: influence.cg_iterations, else 10)")
    p.add_argument("--damping", type=float, help="IF damping λ before the weight decay (default: influence.damping, else 0.001)")
    p.add_argument("--batch", type=int, default=500, help="training samples per gradient batch of TRAK")
    p.add_argument("--projection-control", action="store_true",
                   help="also run dattri's TRAK with projection seed + 1: the LDS and score correlation that projection noise alone gives")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    for module, why in (("numpy", "numpy"), ("h5py", "h5py"), ("torch", "torch"), ("dattri", "dattri")):
        try:
            __import__(module)
        except ImportError:
            print(f"skipped: {why} is not installed (pip install torch dattri h5py; see scripts/bench-venv.sh)")
            return 0
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import lds_inputs
    import lds_dattri
    try:
        return lds_dattri.run(args)
    except lds_inputs.InputError as e:
        print(f"lds_crosscheck: {e}", file=sys.stderr)
        return EXIT_INPUT
    except lds_dattri.MarginMismatch as e:
        print(f"lds_crosscheck: margin check failed: {e}", file=sys.stderr)
        return EXIT_MARGIN


if __name__ == "__main__":
    sys.exit(main())
