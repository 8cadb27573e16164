#!/usr/bin/env python3
"""Write a slice of MNIST as an HDF5 dataset for Configs/examples/mnist-cnn.json (numpy + h5py only).

    python3 python/examples/mnist_slice_to_hdf5.py --mnist ../shared/data/mnist --out data/examples/mnist-slice.h5

Datasets: x (N, 1, 28, 28) float32 normalised as (pixel/255 - 0.1307)/0.3081, y (N) int32, and x_test, y_test
from the first images of the test files. The training rows are the first --train images of the training files.
"""
import argparse
import gzip
import os

import h5py
import numpy as np


def read_idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit("error: %s: no %s(.gz); pass --mnist with the MNIST folder" % (directory, name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default="../shared/data/mnist")
    parser.add_argument("--out", default="data/examples/mnist-slice.h5")
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--test", type=int, default=100)
    args = parser.parse_args()
    def images(name, n):
        x = read_idx(find(args.mnist, name))[:n].astype(np.float32)
        return ((x / 255 - np.float32(0.1307)) / np.float32(0.3081)).astype(np.float32).reshape(n, 1, 28, 28)
    def labels(name, n):
        return read_idx(find(args.mnist, name))[:n].astype(np.int32)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with h5py.File(args.out + ".partial", "w") as f:
        f["x"] = images("train-images-idx3-ubyte", args.train)
        f["y"] = labels("train-labels-idx1-ubyte", args.train)
        f["x_test"] = images("t10k-images-idx3-ubyte", args.test)
        f["y_test"] = labels("t10k-labels-idx1-ubyte", args.test)
    os.replace(args.out + ".partial", args.out)
    print("wrote %s: %d training, %d test images" % (args.out, args.train, args.test))


if __name__ == "__main__":
    main()
