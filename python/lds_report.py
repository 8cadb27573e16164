"""Comparison, tables and output files of ``lds_crosscheck.py``."""
import json
import math
import os
import tempfile

import numpy as np
from scipy.stats import rankdata

import lds_stats

# dattri method → our method in lds.h5 it is checked against.
PAIRS = [("trak", "trak-single", "TRAK (single model θ_T)"), ("influence", "influence", "influence function")]


def reproduce_ours(run, draws, lds_fn):
    """Self-checks of the port: our bootstrap CIs from the stored per-example LDS, and dattri.metric.lds on our
    stored scores against our stored per-example LDS."""
    ci, rho = 0.0, 0.0
    for m in run.methods.values():
        lo, hi = lds_stats.bootstrap_interval(m["lds"], draws)
        ci = max(ci, abs(lo - m["ci_lower"]), abs(hi - m["ci_upper"]))
        if m["scores"] is not None:
            d = lds_fn(m["scores"])["lds"]
            both = np.isfinite(d) & np.isfinite(m["lds"])
            rho = max(rho, float(np.abs(d[both] - m["lds"][both]).max(initial=0.0)))
    return {"bootstrap_ci_max_abs_diff": ci, "per_example_lds_max_abs_diff": rho}


def score_rank_correlation(a, b):
    """Mean and minimum over test examples of Spearman's rho between two (n, N) score rows."""
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ra * rb).sum(axis=1) / denom
    rho = rho[np.isfinite(rho)]
    return {"mean": float(rho.mean()), "min": float(rho.min())} if rho.size else None


def agreement(o, d):
    """'yes' when each mean lies in the other's 95 % CI, 'CIs overlap' when only the intervals meet, else 'no'."""
    if o["ci_lower"] <= d["mean"] <= o["ci_upper"] and d["ci_lower"] <= o["mean"] <= d["ci_upper"]:
        return "yes"
    return "CIs overlap" if max(o["ci_lower"], d["ci_lower"]) <= min(o["ci_upper"], d["ci_upper"]) else "no"


def summary(m):
    return {k: m[k] for k in ("mean", "ci_lower", "ci_upper")}


def compare(run, dattri, draws, settings, checks, meta):
    rows = []
    for key, ours_name, label in PAIRS:
        if key not in dattri:
            continue
        d, ours = dattri[key], run.methods.get(ours_name)
        row = {"method": label, "dattri": key, "ours": ours_name, "dattri_lds": summary(d), "undefined": d["undefined"],
               "seconds": d["seconds"], "ours_lds": None, "agree": "n/a (ours absent)"}
        if ours is not None:
            row["ours_lds"] = summary(ours)
            row["agree"] = agreement(ours, d)
            diff = ours["lds"] - d["lds"]
            lo, hi = lds_stats.bootstrap_interval(diff, draws)
            row["paired_difference"] = {"mean": lds_stats.finite_mean(diff), "ci_lower": lo, "ci_upper": hi}
            if ours["scores"] is not None:
                row["score_rank_correlation"] = score_rank_correlation(ours["scores"], d["scores"])
        rows.append(row)
    context = []
    for name, m in run.methods.items():
        entry = {"method": name, "lds": summary(m), "description": m["description"]}
        if m["scores"] is not None:
            entry["score_rank_correlation"] = {k: score_rank_correlation(m["scores"], d["scores"]) for k, d in dattri.items()}
        context.append(entry)
    dattri_rows = {k: dict(summary(d), undefined=d["undefined"], seconds=d["seconds"], per_example=d["lds"].tolist())
                   for k, d in dattri.items()}
    return dict(meta, settings=settings, checks=checks, comparison=rows, context=context, dattri=dattri_rows,
                absent=[ours for key, ours, _ in PAIRS if key in dattri and ours not in run.methods])


def fmt(s):
    return "—" if s is None else f"{s['mean']:.3f} [{s['ci_lower']:.3f}, {s['ci_upper']:.3f}]"


def markdown(r):
    t, i, c = r["settings"]["trak"], r["settings"]["influence"], r["checks"]
    lines = [f"# LDS cross-check against dattri {r['dattri_version']}", "",
             f"`{r['lds']}`: {r['training_count']} training samples, {r['test_count']} test examples, "
             f"{r['subset_count']} subsets of {r['subset_size']}; θ_T from `{r['history']}`; torch {r['torch_version']}.", "",
             f"Checks: torch margins match `/full_model/margins` (max |Δ| {c['margins']['max_abs_diff']:.1e}, accuracy "
             f"{c['margins']['accuracy']:.3f}); dataset checksum {c['dataset_checksum']}; our bootstrap CIs reproduced "
             f"(max |Δ| {c['bootstrap_ci_max_abs_diff']:.1e}); `dattri.metric.lds` on our stored scores reproduces our "
             f"per-example LDS (max |Δ| {c['per_example_lds_max_abs_diff']:.1e}).", "",
             (f"dattri TRAK: one model, k = {t['projection_dim']} ({t['projection']} projection, seed {t['seed']}), "
              f"regularization {t.get('regularization', 0):.3g} (our ridge {t['ridge']}). " if "trak" in r["dattri"] else "")
             + (f"dattri IF: `IFAttributorCG`, {i['cg_iterations']} CG iterations, regularization {i['regularization']:.3g} "
                f"= damping {i['damping']:.3g} + weight decay {i['weight_decay']:.3g}, CG relative residual "
                f"‖(H + rI)u − g‖/‖g‖ median {i['cg_relative_residual']['median']:.2g}, max "
                f"{i['cg_relative_residual']['max']:.2g}. " if "influence" in r["dattri"] else "")
             + f"LDS: Spearman over the subsets per test example, mean and "
             f"95 % bootstrap CI ({r['settings']['bootstrap']['resamples']} resamples, seed "
             f"{r['settings']['bootstrap']['seed']}, the resamples of `lds`).", "",
             "| method | ours LDS [95 % CI] | dattri LDS [95 % CI] | agree within CI? | ours − dattri [paired CI] | score ρ (mean, min) | dattri s |",
             "|---|---|---|---|---|---|---|"]
    for row in r["comparison"]:
        pd, rho = row.get("paired_difference"), row.get("score_rank_correlation")
        lines.append(f"| {row['method']} | {fmt(row['ours_lds']) if row['ours_lds'] else 'absent (`' + row['ours'] + '`)'} | "
                     f"{fmt(row['dattri_lds'])} | {row['agree']} | {fmt(pd)} | "
                     f"{'—' if not rho else '%.3f, %.3f' % (rho['mean'], rho['min'])} | {row['seconds']:.0f} |")
    pc = c.get("projection_control")
    if pc:
        lines.append(f"\nProjection noise: dattri TRAK with projection seed {pc['seed']} instead of {t['seed']} gives LDS "
                     f"{fmt(pc)} and a mean score ρ of {pc['score_rank_correlation']['mean']:.3f} with seed {t['seed']}; "
                     f"two TRAKs that differ only in their random projection correlate this much.")
    for name in r["absent"]:
        lines.append(f"\n`/methods/{name}` is absent from this lds.h5: dattri's LDS is reported alone.")
    keys = list(r["dattri"])
    lines += ["", "Every method of lds.h5, with the mean Spearman ρ of its per-example score rows against dattri's:", "",
              "| our method | LDS [95 % CI] | " + " | ".join(f"ρ vs dattri {k}" for k in keys) + " |",
              "|---|---|" + "---|" * len(keys)]
    for e in r["context"]:
        cells = []
        for k in keys:
            v = (e.get("score_rank_correlation") or {}).get(k)
            cells.append("—" if not v else f"{v['mean']:.3f}")
        lines.append(f"| {e['method']} | {fmt(e['lds'])} | " + " | ".join(cells) + " |")
    for k in keys:
        lines.append(f"| dattri {k} | {fmt(r['dattri'][k])} |" + " |" * len(keys))
    return "\n".join(lines) + "\n"


def _clean(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        return _clean(x.item())
    return x


def _atomic_write(path, text):
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".partial", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write(result, directory):
    os.makedirs(directory, exist_ok=True)
    text = markdown(result)
    _atomic_write(os.path.join(directory, "crosscheck.json"), json.dumps(_clean(result), indent=1, sort_keys=True) + "\n")
    _atomic_write(os.path.join(directory, "crosscheck.md"), text)
    return text + f"\nwrote {directory}/crosscheck.json and crosscheck.md"
