#!/usr/bin/env python3
"""Train a small MLP in pure numpy and write what ``validate-epk`` needs to replay it as an exact path kernel.

    python3 python/examples/numpy_mlp.py --out D --optimizer adamw --seed 3
    .build/release/validate-epk --config D/epk.json --out D/epk

Writes D/data.h5 (x, y, x_test, y_test), D/model.json (the model spec), D/history.h5, D/epk.json and
D/numpy-outputs.h5 (numpy's test log-probabilities at theta_T).
The model is ``log_softmax(fc2(tanh(fc1(x))))``, 10 -> 16 -> 3, with PyTorch-default initialisation; the data are
three Gaussian blobs. Every array is float32 and the optimizers follow PyTorch's SGD and AdamW step by step
(docs/ARTIFACTS.md, "Histories from another trainer"). Needs numpy and h5py only.
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from explaind_history import HistoryWriter, optimizer_json  # noqa: E402

FEATURES, HIDDEN, CLASSES = 10, 16, 3
TRAIN, TEST, BATCH, EPOCHS = 240, 60, 24, 3

SPEC = {"name": "numpy-mlp", "input_shape": [FEATURES], "layers": [
    {"kind": "linear", "name": "fc1", "out_features": HIDDEN}, {"kind": "tanh"},
    {"kind": "linear", "name": "fc2", "out_features": CLASSES}, {"kind": "log_softmax"}]}
COMPONENTS = [("fc1.weight", (HIDDEN, FEATURES)), ("fc1.bias", (HIDDEN,)),
              ("fc2.weight", (CLASSES, HIDDEN)), ("fc2.bias", (CLASSES,))]


def make_data(rng):
    centres = rng.normal(0, 1.5, size=(CLASSES, FEATURES)).astype(np.float32)
    def draw(n):
        y = rng.integers(0, CLASSES, size=n).astype(np.int32)
        x = (centres[y] + rng.normal(0, 1, size=(n, FEATURES))).astype(np.float32)
        return x, y
    return draw(TRAIN), draw(TEST)


def forward(theta, x):
    """Returns (hidden activation, log-probabilities), float32."""
    h = np.tanh(x @ theta["fc1.weight"].T + theta["fc1.bias"])
    z = h @ theta["fc2.weight"].T + theta["fc2.bias"]
    m = z.max(axis=1, keepdims=True)
    logp = z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))
    return h, logp.astype(np.float32)


def loss_and_gradient(theta, x, y):
    """Mean NLL of the batch and its gradient (dict of float32 arrays)."""
    n = len(y)
    h, logp = forward(theta, x)
    dz = np.exp(logp)
    dz[np.arange(n), y] -= 1
    dz = (dz / np.float32(n)).astype(np.float32)
    dh = (dz @ theta["fc2.weight"]) * (1 - h * h)
    grad = {"fc2.weight": dz.T @ h, "fc2.bias": dz.sum(axis=0),
            "fc1.weight": dh.T @ x, "fc1.bias": dh.sum(axis=0)}
    return float(-logp[np.arange(n), y].mean()), {k: v.astype(np.float32) for k, v in grad.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    (x, y), (x_test, y_test) = make_data(rng)
    with h5py.File(os.path.join(out, "data.h5"), "w") as f:
        f["x"], f["y"], f["x_test"], f["y_test"] = x, y, x_test, y_test
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(SPEC, f, indent=1)

    # PyTorch-default initialisation U(±1/sqrt(fan_in)).
    theta = {}
    for name, shape in COMPONENTS:
        fan_in = FEATURES if name.startswith("fc1") else HIDDEN
        bound = 1 / np.sqrt(fan_in)
        theta[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)

    if args.optimizer == "sgd":
        lr, mu, damp, wd = 0.1, 0.9, 0.0, 5e-3
        opt = {"kind": "sgd", "lr": lr, "momentum": mu, "dampening": damp, "weight_decay": wd}
        spec = optimizer_json("sgd", momentum=mu, dampening=damp, weight_decay=wd)
    else:
        lr, b1, b2, eps, wd = 0.01, 0.9, 0.98, 1e-8, 0.1
        opt = {"kind": "adamw", "lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": wd}
        spec = optimizer_json("adamw", beta1=b1, beta2=b2, eps=eps, weight_decay=wd)
    steps = EPOCHS * (TRAIN // BATCH)
    data_path = os.path.join(out, "data.h5")
    config = {"experiment": "custom", "run": "numpy-%s" % args.optimizer,
              "data": {"kind": "hdf5", "path": data_path, "inputs": "x", "labels": "y",
                       "evaluation_inputs": "x_test", "evaluation_labels": "y_test"},
              "optimizer": opt, "schedule": {"kind": "constant"},
              "training": {"batch_size": BATCH, "drop_last": True, "max_steps": steps, "seed": args.seed},
              "model": os.path.join(out, "model.json")}
    writer = HistoryWriter(os.path.join(out, "history.h5"), components=COMPONENTS, theta0=theta, optimizer=spec,
                           batch_size=BATCH, config=config, model_spec=SPEC, inputs=x, labels=y,
                           dataset_name="numpy-mlp-train",
                           data_source={"kind": "hdf5", "files": [{"path": data_path, "sha256": ""}],
                                        "indexing": "row of dataset 'x' (and 'y') in %s" % data_path})

    f32 = np.float32
    buf = {k: None for k in theta}                              # SGD momentum buffer
    decay = {k: np.zeros_like(v) for k, v in theta.items()}     # R_t
    m = {k: np.zeros_like(v) for k, v in theta.items()}         # AdamW exp_avg
    v = {k: np.zeros_like(v) for k, v in theta.items()}         # AdamW exp_avg_sq
    step = 0
    for epoch in range(EPOCHS):
        order = rng.permutation(TRAIN)
        for b in range(TRAIN // BATCH):
            idx = order[b * BATCH:(b + 1) * BATCH]
            loss, g = loss_and_gradient(theta, x[idx], y[idx])
            if args.optimizer == "sgd":
                for k in theta:
                    # R_t from theta_t before the update (c = 1 at step 0, else 1 - dampening).
                    decay[k] = (f32(0) if step == 0 else f32(mu) * decay[k]) + f32(1 if step == 0 else 1 - damp) * f32(wd) * theta[k]
                    d = g[k] + f32(wd) * theta[k]
                    buf[k] = d if buf[k] is None else f32(mu) * buf[k] + f32(1 - damp) * d
                    theta[k] = (theta[k] - f32(lr) * buf[k]).astype(np.float32)
                quantity = decay
            else:
                tau = step + 1
                c1, c2 = 1 - b1 ** tau, np.sqrt(1 - b2 ** tau)
                for k in theta:
                    m[k] = (m[k] + f32(1 - b1) * (g[k] - m[k])).astype(np.float32)
                    v[k] = (f32(b2) * v[k] + f32(1 - b2) * g[k] * g[k]).astype(np.float32)
                    denom = np.sqrt(v[k]) / f32(c2) + f32(eps)
                    theta[k] = (theta[k] * f32(1 - lr * wd) - f32(lr / c1) * (m[k] / denom)).astype(np.float32)
                quantity = v
            writer.step(theta_next=theta, learning_rate=lr, weight_decay=wd, indices=idx, quantity=quantity, loss=loss)
            step += 1
    writer.close()

    with open(os.path.join(out, "epk.json"), "w") as f:
        json.dump({"experiment": "custom", "run": "numpy-%s" % args.optimizer, "history": os.path.join(out, "history.h5"),
                   "test_count": 30, "classes": "all", "quadrature": {"rule": "midpoint", "points": 8},
                   "data_attribution": True, "memory_budget_gb": 1}, f, indent=1)
    _, logp = forward(theta, x_test)
    with h5py.File(os.path.join(out, "numpy-outputs.h5"), "w") as f:
        f["test_logprobs"] = logp                               # numpy's f(x_test; theta_T), to compare with Swift
    print("trained %d steps (%s): test accuracy %.3f -> %s" % (step, args.optimizer, (logp.argmax(1) == y_test).mean(), out))


if __name__ == "__main__":
    main()
