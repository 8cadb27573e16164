#!/usr/bin/env python3
"""Train a small MLP with a real PyTorch loop and write what ``validate-epk`` needs to replay it as an exact path kernel.

    python3 python/examples/torch_mlp.py --out D --optimizer adamw --seed 3
    .build/release/validate-epk --config D/epk.json --out D/epk

The PyTorch twin of python/examples/numpy_mlp.py: the same model ``log_softmax(fc2(tanh(fc1(x))))``, 10 -> 16 -> 3,
with PyTorch's default initialisation, on three Gaussian blobs, trained by ``torch.optim.SGD`` (momentum and
weight decay) or ``torch.optim.AdamW`` on the mean NLL of each batch. Writes D/data.h5 (x, y, x_test, y_test),
D/model.json (the model spec), D/history.h5 (through python/explaind_history.py), D/epk.json and D/torch-outputs.h5
(PyTorch's test log-probabilities at theta_T). Float32 throughout, one thread, seeded: a rerun writes the same
history. Needs torch, numpy and h5py; the conventions are in docs/ARTIFACTS.md ("Histories from another trainer").
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from explaind_history import HistoryWriter, optimizer_json  # noqa: E402

FEATURES, HIDDEN, CLASSES = 10, 16, 3
TRAIN, TEST, BATCH, EPOCHS = 240, 60, 24, 3

SPEC = {"name": "torch-mlp", "input_shape": [FEATURES], "layers": [
    {"kind": "linear", "name": "fc1", "out_features": HIDDEN}, {"kind": "tanh"},
    {"kind": "linear", "name": "fc2", "out_features": CLASSES}, {"kind": "log_softmax"}]}
COMPONENTS = [("fc1.weight", (HIDDEN, FEATURES)), ("fc1.bias", (HIDDEN,)),
              ("fc2.weight", (CLASSES, HIDDEN)), ("fc2.bias", (CLASSES,))]


class MLP(torch.nn.Module):
    """The spec's network; its ``named_parameters`` are the history's components, in layout order."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(FEATURES, HIDDEN)
        self.fc2 = torch.nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        return F.log_softmax(self.fc2(torch.tanh(self.fc1(x))), dim=1)


def make_data(generator):
    centres = torch.randn(CLASSES, FEATURES, generator=generator) * 1.5
    def draw(n):
        y = torch.randint(0, CLASSES, (n,), generator=generator)
        x = centres[y] + torch.randn(n, FEATURES, generator=generator)
        return x.float(), y
    return draw(TRAIN), draw(TEST)


def snapshot(tensors):
    """dict name -> float32 numpy copy."""
    return {k: v.detach().cpu().numpy().astype(np.float32, copy=True) for k, v in tensors.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    (x, y), (x_test, y_test) = make_data(generator)
    data_path = os.path.join(out, "data.h5")
    with h5py.File(data_path, "w") as f:
        f["x"], f["x_test"] = x.numpy(), x_test.numpy()
        f["y"], f["y_test"] = y.numpy().astype(np.int32), y_test.numpy().astype(np.int32)
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(SPEC, f, indent=1)

    model = MLP()                                               # PyTorch-default init from torch.manual_seed
    params = dict(model.named_parameters())
    assert [n for n, _ in COMPONENTS] == list(params), "component order must follow the spec's layout"
    if args.optimizer == "sgd":
        lr, mu, damp, wd = 0.1, 0.9, 0.0, 5e-3
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=mu, dampening=damp, weight_decay=wd,
                                    foreach=False)
        opt = {"kind": "sgd", "lr": lr, "momentum": mu, "dampening": damp, "weight_decay": wd}
        spec = optimizer_json("sgd", momentum=mu, dampening=damp, weight_decay=wd)
    else:
        lr, b1, b2, eps, wd = 0.01, 0.9, 0.98, 1e-8, 0.1
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd,
                                      foreach=False)
        opt = {"kind": "adamw", "lr": lr, "beta1": b1, "beta2": b2, "eps": eps, "weight_decay": wd}
        spec = optimizer_json("adamw", beta1=b1, beta2=b2, eps=eps, weight_decay=wd)

    steps = EPOCHS * (TRAIN // BATCH)
    config = {"experiment": "custom", "run": "torch-%s" % args.optimizer,
              "data": {"kind": "hdf5", "path": data_path, "inputs": "x", "labels": "y",
                       "evaluation_inputs": "x_test", "evaluation_labels": "y_test"},
              "optimizer": opt, "schedule": {"kind": "constant"},
              "training": {"batch_size": BATCH, "drop_last": True, "max_steps": steps, "seed": args.seed},
              "model": os.path.join(out, "model.json")}
    writer = HistoryWriter(os.path.join(out, "history.h5"), components=COMPONENTS, theta0=snapshot(params),
                           optimizer=spec, batch_size=BATCH, config=config, model_spec=SPEC, inputs=x.numpy(),
                           labels=y.numpy(), dataset_name="torch-mlp-train",
                           data_source={"kind": "hdf5", "files": [{"path": data_path, "sha256": ""}],
                                        "indexing": "row of dataset 'x' (and 'y') in %s" % data_path})

    # SGD's decay buffer R_t: the weight-decay part of PyTorch's momentum buffer. torch.optim.SGD sets buf = d at
    # step 0 (no dampening) and buf = mu*buf + (1 - dampening)*d afterwards, d = grad + wd*theta_t, so
    # R_t = mu*R_{t-1} + c*wd*theta_t with c = 1 at t = 0 and 1 - dampening afterwards, from theta_t before the step.
    decay = {k: torch.zeros_like(p) for k, p in params.items()}
    step = 0
    for epoch in range(EPOCHS):
        order = torch.randperm(TRAIN, generator=generator)
        for b in range(TRAIN // BATCH):
            idx = order[b * BATCH:(b + 1) * BATCH]
            rate = optimizer.param_groups[0]["lr"]              # the rate this step uses
            optimizer.zero_grad(set_to_none=True)
            loss = F.nll_loss(model(x[idx]), y[idx])            # batch mean
            loss.backward()
            if args.optimizer == "sgd":
                c = 1.0 if step == 0 else 1.0 - damp
                with torch.no_grad():
                    for k, p in params.items():
                        decay[k] = (decay[k] * mu if step > 0 else torch.zeros_like(p)) + p.detach() * (c * wd)
            optimizer.step()
            if args.optimizer == "sgd":
                quantity = snapshot(decay)
            else:                                               # PyTorch's exp_avg_sq after this step
                quantity = snapshot({k: optimizer.state[p]["exp_avg_sq"] for k, p in params.items()})
            writer.step(theta_next=snapshot(params), learning_rate=rate, weight_decay=wd, indices=idx.numpy(),
                        quantity=quantity, loss=loss.item())
            step += 1
    writer.close()

    with open(os.path.join(out, "epk.json"), "w") as f:
        json.dump({"experiment": "custom", "run": "torch-%s" % args.optimizer, "history": os.path.join(out, "history.h5"),
                   "test_count": 30, "classes": "all", "quadrature": {"rule": "midpoint", "points": 8},
                   "data_attribution": True, "memory_budget_gb": 1}, f, indent=1)
    with torch.no_grad():
        logp = model(x_test)
    with h5py.File(os.path.join(out, "torch-outputs.h5"), "w") as f:
        f["test_logprobs"] = logp.numpy().astype(np.float32)    # PyTorch's f(x_test; theta_T), to compare with Swift
    accuracy = (logp.argmax(1) == y_test).float().mean().item()
    print("trained %d steps (torch %s): test accuracy %.3f -> %s" % (step, args.optimizer, accuracy, out))


if __name__ == "__main__":
    main()
