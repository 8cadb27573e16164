"""What numpy_mlp.py and torch_mlp.py share: the model, the data files, the optimizer settings, the history writer's
arguments and the replay config. Each script only trains (its own way) and passes the arrays in."""
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
STEPS = EPOCHS * (TRAIN // BATCH)
COMPONENTS = [("fc1.weight", (HIDDEN, FEATURES)), ("fc1.bias", (HIDDEN,)),
              ("fc2.weight", (CLASSES, HIDDEN)), ("fc2.bias", (CLASSES,))]
# The optimizers' settings, as the training config names them.
SETTINGS = {"sgd": {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 5e-3},
            "adamw": {"lr": 0.01, "beta1": 0.9, "beta2": 0.98, "eps": 1e-8, "weight_decay": 0.1}}


def model_spec(name):
    """``log_softmax(fc2(tanh(fc1(x))))`` as a model spec (docs/ARTIFACTS.md)."""
    return {"name": name, "input_shape": [FEATURES], "layers": [
        {"kind": "linear", "name": "fc1", "out_features": HIDDEN}, {"kind": "tanh"},
        {"kind": "linear", "name": "fc2", "out_features": CLASSES}, {"kind": "log_softmax"}]}


def parse_arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", required=True)
    parser.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    return args


def open_history(args, name, theta0, x, y, x_test, y_test):
    """Writes DIR/data.h5 and DIR/model.json, and returns the history writer of DIR/history.h5."""
    out, kind = args.out, args.optimizer
    data_path = os.path.join(out, "data.h5")
    with h5py.File(data_path, "w") as f:
        f["x"], f["x_test"] = x.astype(np.float32), x_test.astype(np.float32)
        f["y"], f["y_test"] = y.astype(np.int32), y_test.astype(np.int32)
    spec = model_spec(name)
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(spec, f, indent=1)
    settings = SETTINGS[kind]
    config = {"experiment": "custom", "run": "%s-%s" % (name, kind),
              "data": {"kind": "hdf5", "path": data_path, "inputs": "x", "labels": "y",
                       "evaluation_inputs": "x_test", "evaluation_labels": "y_test"},
              "optimizer": dict(kind=kind, **settings), "schedule": {"kind": "constant"},
              "training": {"batch_size": BATCH, "drop_last": True, "max_steps": STEPS, "seed": args.seed},
              "model": os.path.join(out, "model.json")}
    constants = {k: v for k, v in settings.items() if k != "lr"}
    return HistoryWriter(os.path.join(out, "history.h5"), components=COMPONENTS, theta0=theta0,
                         optimizer=optimizer_json(kind, **constants), batch_size=BATCH, config=config, model_spec=spec,
                         inputs=x, labels=y, dataset_name="%s-train" % name,
                         data_source={"kind": "hdf5", "files": [{"path": data_path, "sha256": ""}],
                                      "indexing": "row of dataset 'x' (and 'y') in %s" % data_path})


def finish(args, name, test_logprobs, y_test):
    """Writes DIR/epk.json (the replay's config) and DIR/<name>-outputs.h5 (the trainer's own test log-probabilities
    at theta_T, to compare with Swift's), and prints the test accuracy."""
    out = args.out
    with open(os.path.join(out, "epk.json"), "w") as f:
        json.dump({"experiment": "custom", "run": "%s-%s" % (name, args.optimizer),
                   "history": os.path.join(out, "history.h5"), "test_count": 30, "classes": "all",
                   "quadrature": {"rule": "midpoint", "points": 8}, "data_attribution": True,
                   "memory_budget_gb": 1}, f, indent=1)
    prefix = name.split("-")[0]
    with h5py.File(os.path.join(out, "%s-outputs.h5" % prefix), "w") as f:
        f["test_logprobs"] = test_logprobs.astype(np.float32)
    accuracy = (test_logprobs.argmax(1) == y_test).mean()
    print("trained %d steps (%s %s): test accuracy %.3f -> %s" % (STEPS, name, args.optimizer, accuracy, out))
