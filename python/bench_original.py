"""Workloads P1, P2b, P3 and P4 of the benchmark, run with the original ExPLAIND package (pip `explaind` 0.1.0).

One workload per process: `python bench_original.py P1` prints one line `@@orig {json}` with seconds per step (and
how many steps were timed) on standard output; everything the package prints goes to standard error. `info` prints
the torch version and its CPU backend. Written against the package's public modules only (model_paths,
optimizer_paths, data_paths, epk_model, modulo_model, cifar_model); when the installed package differs from that API
the script prints one line naming the difference and exits with status 3.

Inputs are synthetic but of the benchmark's shapes: modulo-113 pairs (4 tokens, 115 classes), N = 1000 training pairs
full batch; 32×32 RGB images with 2 classes, 512 training images, batch 64, 20 test images.
"""
import argparse
import contextlib
import inspect
import json
import sys
import time

API_EXIT = 3


def fail_api(what):
    print(f"bench_original: the installed explaind package does not match the 0.1.0 API these drivers use: {what}; "
          f"reinstall it with `.venv-bench/bin/pip install explaind==0.1.0`", file=sys.stderr)
    sys.exit(API_EXIT)


try:
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, Dataset
    from explaind.model_paths import ModelPath
    from explaind.optimizer_paths import AdamWOptimizerPath, SGDOptimizerPath
    from explaind.data_paths import DataPath
    from explaind.epk_model import ExactPathKernelModel
    from explaind.modulo_model.model import SingleLayerTransformerClassifier
    from explaind.modulo_model.data import ModulusDataGenerator
    from explaind.cifar_model.model import construct_rn9
except ImportError as error:
    fail_api(f"import failed ({error})")

# Every callable used below with the parameters passed to it (checked before any work is done).
EXPECTED = [
    (ModelPath, "__init__", ["model", "device", "output_dim"]),
    (ModelPath, "log_checkpoint", []),
    (AdamWOptimizerPath, "__init__", ["model", "lr", "betas", "weight_decay", "device"]),
    (SGDOptimizerPath, "__init__", ["model", "lr", "weight_decay", "momentum", "device"]),
    (DataPath, "__init__", ["dataloader", "full_batch"]),
    (DataPath, "get_batch", ["batch"]),
    (DataPath, "get_checkpoint", ["index"]),
    (ExactPathKernelModel, "__init__", ["model", "optimizer", "loss_fn", "data_path", "integral_eps",
                                        "early_integral_eps", "early_steps", "device"]),
    (ExactPathKernelModel, "get_integral_steps", ["eps", "pred_is_train", "early_eps", "early_steps"]),
    (ExactPathKernelModel, "exact_path_kernel_step_test", ["X_test", "X_train", "y_train", "last_avg", "train_step",
                                                           "pred_target", "pred_steps", "ids", "y_test", "prev_eval"]),
    (ExactPathKernelModel, "get_prediction_from_kernel", ["kernel", "batch_size"]),
    (ExactPathKernelModel, "evaluate_predictions", ["X_test", "other_prediction", "train_step", "step", "prev_eval",
                                                    "reg_term"]),
    (ExactPathKernelModel, "update_kernel_matrix", ["kernel", "step_kernel", "ids", "lr", "step", "prev_eval"]),
    (SingleLayerTransformerClassifier, "__init__", ["n_token", "d_model", "nhead", "dim_mlp"]),
    (ModulusDataGenerator, "__init__", ["num_samples", "val_num_samples", "test_num_samples", "P"]),
    (ModulusDataGenerator, "generate_data", []),
]
OPTIMIZER_METHODS = ["get_learning_rate", "get_reg_term", "train_feature_map", "get_step_kernel", "log_checkpoint",
                     "zero_grad", "step"]


def check_api():
    for owner, name, params in EXPECTED:
        member = getattr(owner, name, None)
        if member is None:
            fail_api(f"{owner.__name__}.{name} is missing")
        have = inspect.signature(member).parameters
        missing = [p for p in params if p not in have]
        if missing:
            fail_api(f"{owner.__name__}.{name} has no parameter(s) {', '.join(missing)}")
    for cls in (AdamWOptimizerPath, SGDOptimizerPath):
        for name in OPTIMIZER_METHODS:
            if not callable(getattr(cls, name, None)):
                fail_api(f"{cls.__name__}.{name} is missing")
    if list(inspect.signature(construct_rn9).parameters) != ["num_classes"]:
        fail_api("explaind.cifar_model.model.construct_rn9 no longer takes (num_classes)")


class IndexedDataset(Dataset):
    """Inputs with integer targets; DataPath appends each sample's index to its target."""

    def __init__(self, data, targets, flip=False):
        self.data, self.targets, self.flip = data, list(int(t) for t in targets), flip

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        x = self.data[i]
        if self.flip and torch.rand(()) < 0.5:  # random horizontal flip, as the CIFAR-2 training data
            x = torch.flip(x, dims=[-1])
        return x, self.targets[i]


def modulo_setup(train_steps):
    """P1: modulo-113 transformer (d 64, 4 heads, MLP 512, 115 classes), N = 1000, full batch, AdamW."""
    np.random.seed(0)
    torch.manual_seed(0)
    train, val, _ = ModulusDataGenerator(num_samples=1000, val_num_samples=500, test_num_samples=200, P=113).generate_data()
    dataset = IndexedDataset(torch.tensor(np.array(train[0]), dtype=torch.long), train[1])
    loader = DataLoader(dataset, batch_size=1000, shuffle=True, drop_last=True)
    model = ModelPath(SingleLayerTransformerClassifier(n_token=115, d_model=64, nhead=4, dim_mlp=512), device="cpu",
                      output_dim=115)
    optimizer = AdamWOptimizerPath(model, lr=1e-3, betas=(0.9, 0.98), weight_decay=4.0, device="cpu")
    data_path = DataPath(loader, full_batch=True)
    seconds = train_with_history(model, optimizer, data_path, loader, train_steps, lambda step: 1e-3)
    x_val = torch.tensor(np.array(val[0]), dtype=torch.long)[:50]
    y_val = torch.tensor(np.array(val[1]), dtype=torch.long)[:50]
    return model, optimizer, data_path, seconds, x_val, y_val


def cifar_setup(train_steps):
    """P3: ResNet-9 without batch norm, 2 classes, SGD momentum 0.9, batch 64, 512 synthetic images."""
    torch.manual_seed(0)
    images = torch.randn(512, 3, 32, 32)
    labels = torch.randint(0, 2, (512,))
    loader = DataLoader(IndexedDataset(images, labels, flip=True), batch_size=64, shuffle=True, drop_last=True)
    model = ModelPath(construct_rn9(num_classes=2), device="cpu", output_dim=2)
    optimizer = SGDOptimizerPath(model, lr=0.02, weight_decay=5e-3, momentum=0.9, device="cpu")
    data_path = DataPath(loader, full_batch=False)
    triangle = lambda step: float(np.interp(step, [0, 6, 16], [0.002, 0.02, 0.0]))
    seconds = train_with_history(model, optimizer, data_path, loader, train_steps, triangle)
    return model, optimizer, data_path, seconds, torch.randn(20, 3, 32, 32), torch.randint(0, 2, (20,))


def train_with_history(model, optimizer, data_path, loader, steps, learning_rate):
    """The original's training loop with history: each step logs its batch, parameters and optimizer state.
    Returns the wall seconds of every step (batch fetch to history logged)."""
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds = []
    model.train()
    while len(seconds) < steps:
        start = time.perf_counter()
        for batch in loader:
            X, y = data_path.get_batch(batch)
            for group in optimizer.optimizer.param_groups:
                group["lr"] = learning_rate(len(seconds))
            optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            model.log_checkpoint()
            optimizer.log_checkpoint()
            now = time.perf_counter()
            seconds.append(now - start)
            start = now
            if len(seconds) == steps:
                break
    return seconds


def epk_steps(model, optimizer, data_path, x_test, y_test, classes, midpoints, steps):
    """The body of ExactPathKernelModel.predict(keep_kernel_matrices=True) for the first `steps` training steps:
    the kernel of every test point × every class with every training sample of the step, per parameter tensor
    (data attribution for all classes), with the original's regularisation term and replication check.
    Returns the wall seconds of each step."""
    # integral_eps = 1 / midpoints, a hair smaller: get_integral_steps uses max(eps, 1) as a range() step, which
    # raises a TypeError for eps = 1.0 (one midpoint).
    eps = (1.0 - 1e-6) / midpoints
    epk = ExactPathKernelModel(model=model, optimizer=optimizer, loss_fn=torch.nn.CrossEntropyLoss(),
                               data_path=data_path, integral_eps=eps, early_integral_eps=eps, early_steps=0,
                               device="cpu")
    schedule = epk.get_integral_steps(eps, pred_is_train=False, early_eps=eps, early_steps=0)
    if len(schedule) < steps or any(len(points) != midpoints for _, points in schedule):
        fail_api(f"get_integral_steps gave {len(schedule)} steps with {[len(p) for _, p in schedule[:2]]} points, "
                 f"expected {steps} steps with {midpoints} midpoints")
    with torch.no_grad():
        current = model.forward(x_test, step=0).clone()
    target = torch.eye(classes)
    # predict() starts from prev_eval = None and then stores into it at step 0, which raises a TypeError unless
    # keep_param_wise_kernel is set (which materialises a test × class × sample × parameter tensor): start from {}.
    prev_eval, next_avg, reg_features, kernel = {}, None, None, None
    seconds = []
    for train_step, pred_steps in schedule[:steps]:
        start = time.perf_counter()
        batch = data_path.get_checkpoint(train_step)
        ids, X_train, y_train = batch["indices"], batch["X"], batch["y"]
        step_kernel, next_avg, features, prev_eval = epk.exact_path_kernel_step_test(
            x_test, X_train, y_train, next_avg, train_step, pred_target=target, pred_steps=pred_steps, ids=ids,
            y_test=y_test, prev_eval=prev_eval)
        step_prediction = epk.get_prediction_from_kernel(step_kernel, batch_size=len(ids))
        lr = optimizer.get_learning_rate(train_step + 1)
        current = current - lr * step_prediction
        reg_term, reg_features = optimizer.get_reg_term(features, reg_features, train_step, prev_eval=prev_eval,
                                                        param_kernel_store_interval=epk.kernel_store_interval)
        current = current + reg_term
        prev_eval = epk.evaluate_predictions(x_test, current, train_step, -step_prediction * lr, prev_eval=prev_eval,
                                             reg_term=reg_term)
        kernel, prev_eval = epk.update_kernel_matrix(kernel, step_kernel, ids, lr, step=train_step, prev_eval=prev_eval)
        seconds.append(time.perf_counter() - start)
    shapes = sorted({tuple(v.shape) for v in kernel.values()})
    return seconds, shapes


def run(workload, args):
    if workload == "P1":
        steps = args.p1_steps
        *_, seconds, _, _ = modulo_setup(steps)
        return {"seconds": seconds, "note": f"{steps} steps, N 1000 full batch, AdamW"}
    if workload == "P2b":
        model, optimizer, data_path, _, x_val, y_val = modulo_setup(args.p2b_steps + 1)
        seconds, shapes = epk_steps(model, optimizer, data_path, x_val, y_val, 115, 2, args.p2b_steps)
        return {"seconds": seconds, "note": f"first {args.p2b_steps} steps; 50 val × 115 classes, 2 midpoints; "
                                            f"kernel matrices {shapes[0]} per parameter tensor"}
    if workload == "P3":
        *_, seconds, _, _ = cifar_setup(args.p3_steps)
        return {"seconds": seconds, "note": f"{args.p3_steps} steps, batch 64, SGD momentum"}
    if workload == "P4":
        model, optimizer, data_path, _, x_test, y_test = cifar_setup(args.p4_steps + 1)
        seconds, shapes = epk_steps(model, optimizer, data_path, x_test, y_test, 2, 1, args.p4_steps)
        return {"seconds": seconds, "note": f"first {args.p4_steps} steps; 20 test × 2 classes, 1 midpoint; "
                                            f"kernel matrices {shapes[0]} per parameter tensor"}
    raise ValueError(workload)


def info():
    capability = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "unknown"
    return {"torch": torch.__version__, "explaind": _version("explaind"), "numpy": np.__version__,
            "torch_cpu_capability": capability, "torch_mkl": bool(torch.backends.mkl.is_available()),
            "python": sys.version.split()[0]}


def _version(name):
    from importlib.metadata import version
    return version(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload", choices=["P1", "P2b", "P3", "P4", "info"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--p1-steps", type=int, default=200)
    parser.add_argument("--p2b-steps", type=int, default=2)
    parser.add_argument("--p3-steps", type=int, default=16)
    parser.add_argument("--p4-steps", type=int, default=3)
    args = parser.parse_args()
    check_api()
    torch.set_num_threads(args.threads)
    if args.workload == "info":
        result = info()
    else:
        with contextlib.redirect_stdout(sys.stderr):  # the package prints progress; keep stdout for the result
            result = run(args.workload, args)
        result.update(workload=args.workload, threads=args.threads)
    print("@@orig " + json.dumps(result), flush=True)


if __name__ == "__main__":
    try:
        main()
    except (AttributeError, TypeError, KeyError) as error:  # an API change that the signature check cannot see
        fail_api(f"{type(error).__name__}: {error}")
