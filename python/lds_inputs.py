"""Reads what ``lds_crosscheck.py`` compares: an ``lds.h5`` of explaind's ``lds`` executable, the full-data
``history.h5`` it names, and the MNIST images both were computed on (layouts: docs/ARTIFACTS.md).

Every problem raises ``InputError`` with one line naming the file and the fix.
"""
import gzip
import hashlib
import json
import os

import h5py
import numpy as np

import lds_stats

MEAN, STD = np.float32(0.1307), np.float32(0.3081)  # Sources/Data/MNIST.swift
COMPONENTS = [("fc1.weight", (128, 784)), ("fc1.bias", (128,)), ("fc2.weight", (10, 128)), ("fc2.bias", (10,))]


class InputError(Exception):
    """A bad or mismatched input; the message is the whole diagnosis."""


class LDSRun:
    """The parts of ``lds.h5`` the cross-check reads."""

    def __init__(self, path):
        if not os.path.isfile(path):
            raise InputError(f"{path}: no such file; pass the lds.h5 written by the `lds` executable")
        try:
            with h5py.File(path, "r") as f:
                if f.attrs.get("kind") != "lds":
                    raise InputError(f"{path}: root attribute kind is {f.attrs.get('kind')!r}, not 'lds'; pass an lds.h5")
                self.path = path
                self.config = json.loads(f.attrs["config"])
                self.train_config = json.loads(f.attrs["train_config"])
                self.history = str(f.attrs["history"])
                self.training_count = int(f.attrs["training_count"])
                self.full_accuracy = float(f.attrs["full_model_accuracy"])
                self.subsets = f["subsets/indices"][:].astype(np.int64)
                self.test_indices = f["test/indices"][:].astype(np.int64)
                self.test_labels = f["test/labels"][:].astype(np.int64)
                self.truth = f["ground_truth/margins"][:]
                self.full_margins = f["full_model/margins"][:]
                member = f.get("models/member-0")
                self.member0 = None if member is None else {k: member[k][:] for k, _ in COMPONENTS}
                self.method_names = json.loads(f.attrs["methods"])
                self.methods = {}
                for name in self.method_names:
                    g = f["methods/" + name]
                    lds = g["lds"]
                    self.methods[name] = {
                        "lds": lds[:], "mean": float(lds.attrs["mean"]), "ci_lower": float(lds.attrs["ci_lower"]),
                        "ci_upper": float(lds.attrs["ci_upper"]), "description": str(g.attrs.get("description", "")),
                        "scores": g["scores"][:] if "scores" in g else None,
                    }
        except KeyError as e:
            raise InputError(f"{path}: missing {e}; rewrite it with the current `lds` executable") from None
        except OSError as e:
            raise InputError(f"{path}: not a readable HDF5 file ({e}); pass the lds.h5 written by `lds`") from None
        M, n = self.truth.shape
        if self.subsets.shape[0] != M or self.test_indices.shape != (n,) or self.full_margins.shape != (n,):
            raise InputError(f"{path}: inconsistent shapes: subsets {self.subsets.shape}, ground truth {self.truth.shape}, "
                             f"test {self.test_indices.shape}; rewrite it with the `lds` executable")
        if self.subsets.size and (self.subsets.min() < 0 or self.subsets.max() >= self.training_count):
            raise InputError(f"{path}: /subsets/indices outside 0..<{self.training_count}; rewrite it with `lds`")

    def setting(self, block, key, default):
        """A value of the lds config (``trak.projection_dim``…), else ``default``."""
        value = self.config.get(block)
        return value[key] if isinstance(value, dict) and key in value else default


def final_parameters(path, train_config, lds_path):
    """θ_T of a history as {component: array}, with the history's data provenance."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: the history named by {lds_path} does not exist; pass --history with the full-data history.h5")
    with h5py.File(path, "r") as f:
        if f.attrs.get("model") != "MNISTMLP":
            raise InputError(f"{path}: model {f.attrs.get('model')!r}; the cross-check rebuilds only the MNIST MLP (784-128-10)")
        if json.loads(f.attrs["config"]) != train_config:
            raise InputError(f"{path}: trained with another recipe than the train_config stored in {lds_path}; pass the matching history")
        names = json.loads(f.attrs["components"])
        shapes = [tuple(s) for s in json.loads(f.attrs["component_shapes"])]
        if list(zip(names, shapes)) != COMPONENTS:
            raise InputError(f"{path}: components {list(zip(names, shapes))}, expected {COMPONENTS}")
        steps = int(f.attrs["steps_completed"])
        theta = {name: f["params/" + name][steps].astype(np.float32) for name, _ in COMPONENTS}
        if "data/training_indices" not in f or "data_source" not in f.attrs:
            raise InputError(f"{path}: no /data/training_indices or data_source attribute; retrain it with the current `train`")
        info = {"steps": steps, "training_indices": f["data/training_indices"][:].astype(np.int64),
                "data_source": json.loads(f.attrs["data_source"]), "checksum": str(f.attrs["dataset_checksum"]),
                "training_count": int(f.attrs["training_count"])}
    return theta, info


def _read_idx(path, magic, axes):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    header = np.frombuffer(data[:4 * (axes + 1)], dtype=">u4")
    if header[0] != magic:
        raise InputError(f"{path}: bad IDX magic {int(header[0]):#010x}; point --data at the MNIST IDX files")
    extents = [int(e) for e in header[1:]]
    body = np.frombuffer(data[4 * (axes + 1):], dtype=np.uint8)
    if body.size != int(np.prod(extents)):
        raise InputError(f"{path}: {body.size} bytes after the header, expected {int(np.prod(extents))}")
    return body.reshape(extents)


def _locate(directory, name):
    for candidate in (name, name + ".gz"):
        p = os.path.join(directory, candidate)
        if os.path.isfile(p):
            return p
    raise InputError(f"{directory}: no {name}[.gz]; point --data at the directory holding the MNIST IDX files")


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _normalized(images):
    """(N, 784) float32 (x/255 - 0.1307)/0.3081, in float32 as MNIST.normalized."""
    x = images.reshape(images.shape[0], -1).astype(np.float32)
    return (x / np.float32(255) - MEAN) / STD


def mnist_data(info, history_path, run, data_dir=None):
    """The training set the history indexes (checked against its file hashes and dataset checksum) and the test
    examples of the lds run (MNIST's test split; their labels are checked against /test/labels)."""
    source = info["data_source"]
    if source.get("kind") != "mnist-idx":
        raise InputError(f"{history_path}: data source kind {source.get('kind')!r}, expected 'mnist-idx'")
    files = {os.path.basename(e["path"]): e for e in source["files"]}
    directory = data_dir or os.path.dirname(source["files"][0]["path"])
    checked = []
    for base, entry in files.items():
        stem = base[:-3] if base.endswith(".gz") else base
        path = _locate(directory, stem)
        if os.path.basename(path) == base and _sha256(path) != entry["sha256"]:
            raise InputError(f"{path}: SHA-256 differs from the one recorded in {history_path}; point --data at the files it was trained on")
        checked.append(path)
    images = _read_idx(_locate(directory, "train-images-idx3-ubyte"), 0x803, 3)
    labels = _read_idx(_locate(directory, "train-labels-idx1-ubyte"), 0x801, 1).astype(np.int64)
    idx = info["training_indices"]
    x_train, y_train = _normalized(images[idx]), labels[idx]
    checksum = lds_stats.fnv1a64(x_train, y_train)
    if checksum != info["checksum"]:
        raise InputError(f"{directory}: the training set rebuilt from it has checksum {checksum}, but {history_path} "
                         f"records {info['checksum']}; point --data at the data it was trained on")
    if x_train.shape[0] != run.training_count:
        raise InputError(f"{run.path}: training_count {run.training_count}, but the history holds {x_train.shape[0]} samples")
    test_images = _read_idx(_locate(directory, "t10k-images-idx3-ubyte"), 0x803, 3)
    test_labels = _read_idx(_locate(directory, "t10k-labels-idx1-ubyte"), 0x801, 1).astype(np.int64)
    prefix = int(run.train_config.get("data", {}).get("test_count", 500))
    t = run.test_indices
    if t.max() >= min(prefix, test_labels.size) or t.min() < 0:
        raise InputError(f"{run.path}: /test/indices reach {t.max()}, beyond the {prefix}-image evaluation split of the recipe")
    if not np.array_equal(test_labels[t], run.test_labels):
        raise InputError(f"{run.path}: /test/labels differ from MNIST's test labels at /test/indices; point --data at the right MNIST")
    return {"x_train": x_train, "y_train": y_train, "x_test": _normalized(test_images[t]), "y_test": run.test_labels,
            "checksum": checksum, "directory": directory, "verified_files": checked}
