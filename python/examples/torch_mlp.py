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
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_example import (BATCH, CLASSES, COMPONENTS, EPOCHS, FEATURES, HIDDEN, SETTINGS, TEST, TRAIN,  # noqa: E402
                         finish, open_history, parse_arguments)


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
    args = parse_arguments(__doc__.splitlines()[0])
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    (x, y), (x_test, y_test) = make_data(generator)

    model = MLP()                                               # PyTorch-default init from torch.manual_seed
    params = dict(model.named_parameters())
    assert [n for n, _ in COMPONENTS] == list(params), "component order must follow the spec's layout"
    settings = SETTINGS[args.optimizer]
    lr, wd = settings["lr"], settings["weight_decay"]
    if args.optimizer == "sgd":
        mu, damp = settings["momentum"], settings["dampening"]
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=mu, dampening=damp, weight_decay=wd,
                                    foreach=False)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(settings["beta1"], settings["beta2"]),
                                      eps=settings["eps"], weight_decay=wd, foreach=False)
    writer = open_history(args, "torch-mlp", snapshot(params), x.numpy(), y.numpy(), x_test.numpy(), y_test.numpy())

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

    with torch.no_grad():
        logp = model(x_test)
    finish(args, "torch-mlp", logp.numpy(), y_test.numpy())


if __name__ == "__main__":
    main()
