"""Write an explaind history (``history.h5``) from any training loop: numpy and h5py only.

A foreign trainer calls ``HistoryWriter.step`` once per optimizer step; ``validate-epk`` then replays the run as an
exact path kernel. The format and the optimizer conventions are in docs/ARTIFACTS.md ("Histories from another
trainer"). In short, step t maps theta_t to theta_{t+1} with the batch of step t, and records:

* ``params/<component>`` row t+1: theta_{t+1} (row 0 is theta_0, written by ``HistoryWriter.__init__``);
* ``optimizer/learning_rate`` and ``optimizer/weight_decay`` row t: eta_t and lambda used by step t;
* ``batches/indices`` row t: training-set rows of the batch (-1 pads a short batch); the loss is the batch mean;
* the optimizer quantity of step t, per component:
  - SGD (``decay_buffer``): R_t = mu * R_{t-1} + c * lambda * theta_t, computed from theta_t before the update,
    with c = 1 at step 0 (PyTorch's undampened first buffer) and c = 1 - dampening afterwards;
  - AdamW (``exp_avg_sq``): v_t, the second moment after step t (PyTorch's ``exp_avg_sq``, no bias correction).

All arrays are float32 (indices int32). The file is written as ``<path>.partial`` and renamed by ``close``.
"""
import json
import os

import h5py
import numpy as np

FORMAT = "explaind-history/1"


def dataset_checksum(inputs, labels):
    """FNV-1a 64 (hex) of a training set as explaind computes it: each extent of the input shape (uint64 LE), the
    float32 input bytes (C order), then each label as int64 LE. ``validate-epk`` refuses data with another checksum."""
    x = np.ascontiguousarray(inputs, dtype="<f4")
    data = np.asarray(x.shape, dtype="<u8").tobytes() + x.tobytes() + np.asarray(labels, dtype="<i8").tobytes()
    h, prime, mask = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1
    for byte in data:
        h = ((h ^ byte) * prime) & mask
    return "%016x" % h


def optimizer_json(kind, momentum=0.0, dampening=0.0, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    """The ``optimizer`` root attribute."""
    if kind == "sgd":
        return {"sgd": {"momentum": momentum, "dampening": dampening, "weightDecay": weight_decay}}
    if kind == "adamw":
        return {"adamw": {"beta1": beta1, "beta2": beta2, "epsilon": eps, "weightDecay": weight_decay}}
    raise ValueError("optimizer kind must be 'sgd' or 'adamw', not %r" % kind)


class HistoryWriter:
    """Streams one run into ``path``.

    ``components``: list of (name, shape) in the model's layout order (the spec's component names);
    ``theta0``: dict name -> array, the initial parameters; ``optimizer``: ``optimizer_json(...)``;
    ``config``: the train config (dict) whose ``data`` and ``model`` blocks rebuild the data and model;
    ``model_spec``: the model spec (dict); ``inputs``/``labels``: the training set (for its checksum).
    """

    def __init__(self, path, *, components, theta0, optimizer, batch_size, config, model_spec, inputs, labels,
                 dataset_name="training-set", data_source=None, training_indices=None):
        self.path = path
        self.components = [(name, tuple(shape)) for name, shape in components]
        self.batch_size = batch_size
        self.quantity = "exp_avg_sq" if "adamw" in optimizer else "decay_buffer"
        self.steps = 0
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.file = h5py.File(path + ".partial", "w")
        a = self.file.attrs
        a["format"] = FORMAT
        a["model"] = model_spec.get("name", "spec")
        a["model_spec"] = json.dumps(model_spec, sort_keys=True)
        a["optimizer"] = json.dumps(optimizer)
        a["components"] = json.dumps([n for n, _ in self.components])
        a["component_shapes"] = json.dumps([list(s) for _, s in self.components])
        a["active_components"] = json.dumps([n for n, _ in self.components])
        a["training_count"] = np.int64(len(labels))
        a["batch_size"] = np.int64(batch_size)
        a["dataset_name"] = dataset_name
        a["dataset_checksum"] = dataset_checksum(inputs, labels)
        a["config"] = json.dumps(config)
        a["steps_completed"] = np.int64(0)
        if data_source is not None:
            a["data_source"] = json.dumps(data_source, sort_keys=True)
            self.file.create_group("data").create_dataset(
                "training_indices", data=np.asarray(training_indices if training_indices is not None else range(len(labels)), dtype="<i8"))
        for group in ("params", "optimizer/" + self.quantity):
            g = self.file.require_group(group)
            for name, shape in self.components:
                g.create_dataset(name, shape=(0,) + shape, maxshape=(None,) + shape, dtype="<f4", chunks=(1,) + shape)
        for name in ("learning_rate", "weight_decay"):
            self.file["optimizer"].create_dataset(name, shape=(0,), maxshape=(None,), dtype="<f4", chunks=(256,))
        b = self.file.create_group("batches")
        b.create_dataset("indices", shape=(0, batch_size), maxshape=(None, batch_size), dtype="<i4", chunks=(64, batch_size))
        b.create_dataset("loss", shape=(0,), maxshape=(None,), dtype="<f8", chunks=(256,))
        self._append_params(theta0)

    @staticmethod
    def _append(dataset, row):
        dataset.resize(dataset.shape[0] + 1, axis=0)
        dataset[-1] = row

    def _append_params(self, theta):
        for name, shape in self.components:
            self._append(self.file["params"][name], np.asarray(theta[name], dtype="<f4").reshape(shape))

    def step(self, *, theta_next, learning_rate, weight_decay, indices, quantity, loss=float("nan")):
        """Records step t: theta_{t+1}, eta_t, lambda, the batch's training rows, and the optimizer quantity
        (dict name -> array; see the module docstring)."""
        self._append_params(theta_next)
        self._append(self.file["optimizer/learning_rate"], np.float32(learning_rate))
        self._append(self.file["optimizer/weight_decay"], np.float32(weight_decay))
        row = np.full(self.batch_size, -1, dtype="<i4")
        row[:len(indices)] = indices
        self._append(self.file["batches/indices"], row)
        self._append(self.file["batches/loss"], np.float64(loss))
        for name, shape in self.components:
            self._append(self.file["optimizer"][self.quantity][name], np.asarray(quantity[name], dtype="<f4").reshape(shape))
        self.steps += 1

    def close(self):
        """Finishes the file and renames ``<path>.partial`` to ``path``."""
        self.file.attrs["steps_completed"] = np.int64(self.steps)
        self.file.close()
        os.replace(self.path + ".partial", self.path)
