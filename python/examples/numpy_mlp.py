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
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_example import (BATCH, CLASSES, COMPONENTS, EPOCHS, FEATURES, HIDDEN, SETTINGS, TEST, TRAIN,  # noqa: E402
                         finish, open_history, parse_arguments)


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
    args = parse_arguments(__doc__.splitlines()[0])
    rng = np.random.default_rng(args.seed)
    (x, y), (x_test, y_test) = make_data(rng)

    # PyTorch-default initialisation U(±1/sqrt(fan_in)).
    theta = {}
    for name, shape in COMPONENTS:
        fan_in = FEATURES if name.startswith("fc1") else HIDDEN
        bound = 1 / np.sqrt(fan_in)
        theta[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    settings = SETTINGS[args.optimizer]
    lr, wd = settings["lr"], settings["weight_decay"]
    if args.optimizer == "sgd":
        mu, damp = settings["momentum"], settings["dampening"]
    else:
        b1, b2, eps = settings["beta1"], settings["beta2"], settings["eps"]
    writer = open_history(args, "numpy-mlp", theta, x, y, x_test, y_test)

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

    _, logp = forward(theta, x_test)
    finish(args, "numpy-mlp", logp, y_test)


if __name__ == "__main__":
    main()
