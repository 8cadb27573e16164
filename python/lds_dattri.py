"""The torch/dattri half of ``lds_crosscheck.py``: the rebuilt MLP, the margin check, and dattri's TRAK and IF scores
(the conventions are in the docstring of lds_crosscheck.py)."""
import importlib.metadata
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lds_inputs
import lds_report
import lds_stats
from dattri.algorithm.influence_function import IFAttributorCG
from dattri.algorithm.trak import TRAKAttributor
from dattri.func.hessian import hvp_at_x
from dattri.metric import lds as dattri_lds
from dattri.task import AttributionTask

MARGIN_TOLERANCE = 1e-4  # relative to max(1, |margin|)
PROJECTIONS = {"rademacher": "rademacher", "gaussian": "normal", "none": "identity"}


class MarginMismatch(Exception):
    """The rebuilt model does not reproduce lds.h5's /full_model/margins."""


class MNISTMLP(nn.Module):
    """Sources/NN/MNISTMLP.swift: logits = fc2(ReLU(fc1(x))); the log-softmax is applied by the callers."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.reshape(-1, 784))))


def margin_rows(logits, labels):
    """log p_y − log(1 − p_y) per row, with log(1 − p_y) = logsumexp_{c≠y} log p_c (finite when p_y rounds to 1)."""
    lp = torch.log_softmax(logits, dim=-1)
    mask = torch.arange(lp.shape[-1]) == labels.reshape(-1, 1)
    own = torch.where(mask, lp, torch.zeros_like(lp)).sum(-1)
    rest = torch.logsumexp(torch.where(mask, torch.full_like(lp, -torch.inf), lp), dim=-1)
    return own - rest


def target_functions(model):
    """dattri-style functions of (params, (x, y)) for one sample or a batch (summed; the CE is a mean)."""
    def margin(params, data):
        x, y = data
        return margin_rows(torch.func.functional_call(model, params, (x,)), y).sum()

    def probability(params, data):
        x, y = data
        lp = torch.log_softmax(torch.func.functional_call(model, params, (x,)), dim=-1)
        mask = torch.arange(lp.shape[-1]) == y.reshape(-1, 1)
        return torch.where(mask, lp, torch.zeros_like(lp)).sum().exp()

    def cross_entropy(params, data):
        x, y = data
        return F.cross_entropy(torch.func.functional_call(model, params, (x,)), y.reshape(-1).long())

    return margin, probability, cross_entropy


def check_margins(model, data, run):
    with torch.no_grad():
        lp = torch.log_softmax(model(torch.from_numpy(data["x_test"])), dim=-1).double()
        ours = margin_rows(lp, torch.from_numpy(data["y_test"])).numpy()
        accuracy = float((lp.argmax(-1).numpy() == data["y_test"]).mean())
    diff = np.abs(ours - run.full_margins)
    worst = int(np.argmax(diff / np.maximum(1, np.abs(run.full_margins))))
    if not np.all(diff <= MARGIN_TOLERANCE * np.maximum(1, np.abs(run.full_margins))):
        raise MarginMismatch(f"test example {worst} (MNIST test index {run.test_indices[worst]}): torch margin "
                             f"{ours[worst]:.6f}, {run.path} /full_model/margins {run.full_margins[worst]:.6f} "
                             f"(|Δ| = {diff[worst]:.3g} > {MARGIN_TOLERANCE} · max(1, |margin|)); the rebuilt θ_T, data or "
                             f"layout is not what lds evaluated")
    return {"max_abs_diff": float(diff.max()), "accuracy": accuracy, "lds_accuracy": run.full_accuracy}


def trak_scores(model, state, data, settings, batch):
    margin, probability, _ = target_functions(model)
    task = AttributionTask(loss_func=margin, model=model, checkpoints=state)
    train = TensorDataset(torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"]))
    test = TensorDataset(torch.from_numpy(data["x_test"]), torch.from_numpy(data["y_test"]))
    kwargs = {"proj_dim": settings["projection_dim"], "proj_max_batch_size": 32, "proj_seed": settings["seed"],
              "device": "cpu", "proj_type": settings["dattri_projection"]}
    attributor = TRAKAttributor(task=task, correct_probability_func=probability, device="cpu",
                                projector_kwargs=kwargs, regularization=settings["regularization"])
    with torch.no_grad():
        attributor.cache(DataLoader(train, batch_size=batch, shuffle=False))
        scores = attributor.attribute(DataLoader(test, batch_size=len(test), shuffle=False))
    return scores.T.double().numpy()  # (n, N)


def relative_ridge_to_absolute(model, state, data, ridge, k, batch):
    """λ_dattri = ridge · tr(ΦᵀΦ)/k with dattri's features φ = Rᵀg/√P: E tr(ΦᵀΦ) = Σ_j ‖g_j‖² / P."""
    if ridge == 0:
        return 0.0
    margin, _, _ = target_functions(model)
    params = {k_: v for k_, v in state.items()}
    per_sample = torch.func.vmap(torch.func.grad(margin), in_dims=(None, 0))
    total, P = 0.0, sum(v.numel() for v in params.values())
    for lo in range(0, len(data["y_train"]), batch):
        x = torch.from_numpy(data["x_train"][lo:lo + batch])
        y = torch.from_numpy(data["y_train"][lo:lo + batch])
        g = per_sample(params, (x, y))
        total += float(sum((v.reshape(v.shape[0], -1).double() ** 2).sum() for v in g.values()))
    return ridge * total / P / k


def influence_scores(model, state, data, settings, chunk=500):
    """dattri's IF scores g_trainᵀ u with u = (H + rI)⁻¹ g_test from IFAttributorCG's own steps (``generate_test_rep``,
    ``transform_test_rep``, ``generate_train_rep``: what ``attribute`` does for one test batch, with the training
    gradients in chunks instead of one N × P block), and the relative residual ‖(H + rI)u − g‖/‖g‖ of its CG."""
    _, _, cross_entropy = target_functions(model)
    task = AttributionTask(loss_func=cross_entropy, model=model, checkpoints=state)
    x_train, y_train = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    attributor = IFAttributorCG(task=task, device="cpu", max_iter=settings["cg_iterations"],
                                regularization=settings["regularization"])
    # One batch: dattri sums the inverse-HVPs of the batches of the cached loader.
    attributor.cache(DataLoader(TensorDataset(x_train, y_train), batch_size=len(y_train), shuffle=False))
    test = (torch.from_numpy(data["x_test"]).unsqueeze(0), torch.from_numpy(data["y_test"]).unsqueeze(0))
    with torch.no_grad():
        g = attributor.generate_test_rep(0, test)
        u = attributor.transform_test_rep(0, g)
    params, _ = task.get_param(0)
    loss = task.get_loss_func()
    hvp = hvp_at_x(lambda p: loss(p, (x_train, y_train)), x=(params,), mode="rev-rev",
                   regularization=settings["regularization"])
    residual = torch.linalg.norm(torch.func.vmap(hvp)(u) - g, dim=1) / torch.linalg.norm(g, dim=1)
    scores = np.zeros((len(data["y_test"]), len(y_train)))
    with torch.no_grad():
        for lo in range(0, len(y_train), chunk):
            rows = (x_train[lo:lo + chunk].unsqueeze(0), y_train[lo:lo + chunk].unsqueeze(0))
            scores[:, lo:lo + chunk] = (u @ attributor.generate_train_rep(0, rows).T).double().numpy()
    r = residual.detach().double().numpy()
    return scores, {"max": float(r.max()), "median": float(np.median(r))}


def settings_for(args, run, N, wanted):
    trak_kind = run.setting("trak", "projection", "gaussian")
    if "trak" in wanted and trak_kind not in PROJECTIONS:
        raise lds_inputs.InputError(f"{run.path}: trak.projection {trak_kind!r} is not one of {sorted(PROJECTIONS)}")
    k = args.proj_dim or run.setting("trak", "projection_dim", None) or 2048
    if "trak" in wanted and trak_kind == "none":
        raise lds_inputs.InputError(f"{run.path}: trak.projection 'none' needs a P × P kernel (P = 101,770): too large "
                                    "for dattri on this MLP; cross-check a projected TRAK")
    ridge = float(run.setting("trak", "ridge", 0.0) or 0.0)
    if "trak" in wanted and k > N and ridge == 0:
        raise lds_inputs.InputError(f"{run.path}: projection dimension {k} > {N} training samples makes ΦᵀΦ singular; "
                                    "pass --proj-dim ≤ the training count")
    opt = run.train_config.get("optimizer", {})
    wd = float(opt.get("weight_decay", 0.0)) if opt.get("kind") == "sgd" else 0.0
    damping = args.damping if args.damping is not None else float(run.setting("influence", "damping", 1e-3))
    iters = args.cg_iters or int(run.setting("influence", "cg_iterations", 10))
    return {
        "trak": {"projection_dim": int(k), "projection": trak_kind, "dattri_projection": PROJECTIONS.get(trak_kind),
                 "seed": int(run.setting("trak", "seed", 0)), "ridge": ridge, "models": 1},
        "influence": {"damping": damping, "weight_decay": wd, "regularization": damping + wd, "cg_iterations": iters,
                      "loss": "mean cross-entropy over the training set; test side: cross-entropy"},
        "bootstrap": {"resamples": int(run.config.get("bootstrap_resamples", 1000)),
                      "seed": int(run.config.get("bootstrap_seed", 0)), "level": 0.95},
    }


def lds_of(scores, run, draws):
    """Per-example LDS by dattri.metric.lds, its finite mean and our bootstrap CI."""
    per = dattri_lds(torch.from_numpy(np.ascontiguousarray(scores.T)),
                     (torch.from_numpy(run.truth), torch.from_numpy(run.subsets)))[0].double().numpy()
    lo, hi = lds_stats.bootstrap_interval(per, draws)
    return {"lds": per, "mean": lds_stats.finite_mean(per), "ci_lower": lo, "ci_upper": hi,
            "undefined": int((~np.isfinite(per)).sum())}


def run(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    lds_run = lds_inputs.LDSRun(args.lds)
    history = args.history or lds_run.history
    theta, info = lds_inputs.final_parameters(history, lds_run.train_config, args.lds)
    data = lds_inputs.mnist_data(info, history, lds_run, args.data)
    state = {k: torch.from_numpy(v) for k, v in theta.items()}
    model = MNISTMLP()
    model.load_state_dict(state)
    model.eval()
    if lds_run.member0 is not None:
        gap = max(float(np.abs(lds_run.member0[k] - theta[k]).max()) for k in theta)
        if gap != 0:
            raise lds_inputs.InputError(f"{args.lds}: /models/member-0 differs from θ_T of {history} (max |Δ| {gap:.3g}); "
                                        "pass the history this lds run used")
    checks = {"margins": check_margins(model, data, lds_run), "dataset_checksum": data["checksum"],
              "verified_files": data["verified_files"]}
    print(f"margin check passed: max |Δ| = {checks['margins']['max_abs_diff']:.2e} over {len(lds_run.full_margins)} "
          f"test examples (accuracy {checks['margins']['accuracy']:.3f})", flush=True)

    N = data["x_train"].shape[0]
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(wanted) - {"trak", "influence"}
    if unknown:
        raise lds_inputs.InputError(f"--methods: unknown {sorted(unknown)}; use trak and/or influence")
    settings = settings_for(args, lds_run, N, wanted)
    b = settings["bootstrap"]
    draws = lds_stats.bootstrap_draws(len(lds_run.test_indices), b["resamples"], b["seed"])
    checks.update(lds_report.reproduce_ours(lds_run, draws, lambda s: lds_of(s, lds_run, draws)))

    dattri = {}
    if "trak" in wanted:
        t0 = time.time()
        s = settings["trak"]
        s["regularization"] = relative_ridge_to_absolute(model, state, data, s["ridge"], s["projection_dim"], args.batch)
        print(f"dattri TRAK: k = {s['projection_dim']} ({s['projection']}), regularization {s['regularization']:.3g} …", flush=True)
        scores = trak_scores(model, state, data, s, args.batch)
        dattri["trak"] = dict(lds_of(scores, lds_run, draws), scores=scores, seconds=time.time() - t0)
        if args.projection_control:
            other = dict(s, seed=s["seed"] + 1)
            print(f"dattri TRAK again with projection seed {other['seed']} (projection noise) …", flush=True)
            again = trak_scores(model, state, data, other, args.batch)
            control = lds_of(again, lds_run, draws)
            checks["projection_control"] = dict(lds_report.summary(control), seed=other["seed"],
                                                score_rank_correlation=lds_report.score_rank_correlation(scores, again))
    if "influence" in wanted:
        t0 = time.time()
        s = settings["influence"]
        print(f"dattri IF (CG, {s['cg_iterations']} iterations, regularization {s['regularization']:.3g}) …", flush=True)
        scores, s["cg_relative_residual"] = influence_scores(model, state, data, s)
        dattri["influence"] = dict(lds_of(scores, lds_run, draws), scores=scores, seconds=time.time() - t0)
        print(f"dattri CG relative residual: median {s['cg_relative_residual']['median']:.3g}, "
              f"max {s['cg_relative_residual']['max']:.3g}", flush=True)

    meta = {"lds": os.path.abspath(args.lds), "history": os.path.abspath(history),
            "dattri_version": importlib.metadata.version("dattri"), "torch_version": torch.__version__,
            "training_count": N, "test_count": len(lds_run.test_indices), "subset_count": int(lds_run.truth.shape[0]),
            "subset_size": int(lds_run.subsets.shape[1]), "seconds": None}
    result = lds_report.compare(lds_run, dattri, draws, settings, checks, meta)
    result["seconds"] = time.time() - started
    out = args.out or os.path.dirname(os.path.abspath(args.lds))
    print(lds_report.write(result, out))
    return 0
