"""Glorot and Bengio (2010), "Understanding the difficulty of training deep feedforward neural networks"
(AISTATS), reproduced on scikit-learn's digits: a deep sigmoid network with the standard initialisation
drives its top hidden layer into saturation at 0 early in training; tanh with the normalised (Glorot)
initialisation keeps the back-propagated gradients of the same size in every layer, where the standard
initialisation makes them shrink towards the input.

The networks, as in the paper: hidden layers of equal width (the paper: 5 of 1,000 units), then a Linear
layer to the 10 classes and the softmax of CrossEntropyLoss (the paper's negative log-likelihood); biases
at 0; plain SGD on mini-batches of 10. Two initialisations of every weight matrix W (shape (n_in, n_out)):

    standard:    W ~ U[−1/√n_in, 1/√n_in]                        (the paper's eq. 1; also Linear's default)
    normalised:  W ~ U[−√6/√(n_in + n_out), √6/√(n_in + n_out)]  (the paper's eq. 16: init.xavier_uniform_)

Three runs: sigmoid with the standard initialisation, tanh with the standard one, tanh with the normalised
one. During training, every ``record_every`` updates, it records the mean and standard deviation of each
hidden layer's activations (the outputs of its Sigmoid or Tanh) on 300 fixed test images; at the start it
also records the standard deviation of each hidden layer's back-propagated gradient ∂L/∂s (s = the layer's
pre-activation, what its activation's backward returns) on the same 300 images.

Run:  python examples/glorot_bengio.py                 (the full run: 5 × 1,000 units, about 3 minutes of CPU)
      python examples/glorot_bengio.py --quick         (or MINNET_QUICK=1: 5 × 256 units, fewer updates, for CI)
      python examples/glorot_bengio.py --json out.json (also write everything recorded, for plotting)
"""

import os

# One BLAS thread, as in char_lm.py: the matrices are small, and spinning BLAS threads slow a shared machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy is imported: it reads them when it loads

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np

import minnet
from minnet import init

ACTIVATIONS = {"sigmoid": minnet.Sigmoid, "tanh": minnet.Tanh}
RUNS = [("sigmoid", "standard"), ("tanh", "standard"), ("tanh", "normalised")]
FULL = {"width": 1000, "depth": 5, "updates": 2400, "record_every": 100}
QUICK = {"width": 256, "depth": 5, "updates": 1000, "record_every": 50}


def standard_(weight, rng):
    """The paper's standard initialisation (its eq. 1): W ~ U[−1/√n, 1/√n], n = fan_in = rows of W."""
    bound = 1.0 / math.sqrt(weight.data.shape[0])
    return init.uniform_(weight, -bound, bound, rng=rng)


def normalised_(weight, rng):
    """The paper's normalised initialisation (its eq. 16): U[−√6/√(n_in + n_out), √6/√(n_in + n_out)]."""
    return init.xavier_uniform_(weight, rng=rng)


INITIALISATIONS = {"standard": standard_, "normalised": normalised_}


def build(activation, initialisation, *, width, depth, n_in=64, n_classes=10, rng=0, dtype=np.float32):
    """``depth`` hidden layers (Linear, then the activation) of ``width`` units, then Linear to the classes."""
    rng = np.random.default_rng(rng)
    sizes = [n_in] + [width] * depth + [n_classes]
    layers = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        linear = minnet.Linear(fan_in, fan_out, rng=rng, dtype=dtype)
        INITIALISATIONS[initialisation](linear.weight, rng)
        init.zeros_(linear.bias)
        layers.append(linear)
        if i < depth:  # no activation after the last Linear: the loss takes logits
            layers.append(ACTIVATIONS[activation]())
    return minnet.Sequential(*layers)


def load_data():
    """The digits, pixels scaled to [0, 1], in float32 (the networks' dtype); 300 fixed test images monitor
    the activations."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16.0).astype(np.float32), y, test_size=0.25, random_state=0, stratify=y
    )
    return X_train, y_train, X_test, y_test


def hidden_activations(model, X):
    """Each hidden layer's activations on the batch X, input side first (the model's caches are overwritten)."""
    outputs = []
    for layer in model:
        X = layer(X)
        if isinstance(layer, (minnet.Sigmoid, minnet.Tanh)):
            outputs.append(X)
    return outputs


def backpropagated_gradients(model, loss_fn, X, y):
    """Each hidden layer's ∂L/∂s (s its pre-activation) for the batch, input side first. Parameter
    gradients are cleared afterwards."""
    grads = []

    def keep(layer, grad_output, grad_input):  # grad_input: what the activation's backward returned, ∂L/∂s
        grads.append(grad_input)

    handles = [
        layer.register_backward_hook(keep) for layer in model if isinstance(layer, (minnet.Sigmoid, minnet.Tanh))
    ]
    loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    for handle in handles:
        handle.remove()
    model.zero_grad()
    return grads[::-1]  # backward ran from the top layer down


def run(activation, initialisation, data, *, width, depth, updates, record_every, lr=0.1, batch_size=10, seed=0):
    """Train one network with SGD, recording what the paper's figures show; returns a dict of plain lists."""
    X_train, y_train, X_test, y_test = data
    monitor = X_test[:300]
    model = build(activation, initialisation, width=width, depth=depth, rng=seed)
    loss_fn = minnet.CrossEntropyLoss()
    optimizer = minnet.SGD(model.parameters(), lr=lr)
    grads = backpropagated_gradients(model, loss_fn, monitor, y_test[:300])
    record = {
        "activation": activation,
        "initialisation": initialisation,
        "width": width,
        "depth": depth,
        "lr": lr,
        "batch_size": batch_size,
        "grad_std": [float(g.std()) for g in grads],
        "updates": [],
        "mean": [],
        "std": [],
    }
    order = np.random.default_rng(seed).permutation
    batches = []
    for update in range(updates + 1):
        if update % record_every == 0:
            acts = hidden_activations(model, monitor)
            record["updates"].append(update)
            record["mean"].append([float(a.mean()) for a in acts])
            record["std"].append([float(a.std()) for a in acts])
        if update == updates:
            break
        if not batches:  # a new epoch: the training images in a new order, in batches of batch_size
            batches = np.array_split(order(len(X_train)), len(X_train) // batch_size)
        batch = batches.pop()
        optimizer.zero_grad()
        loss_fn(model(X_train[batch]), y_train[batch])
        model.backward(loss_fn.backward())
        optimizer.step()
    predictions = model(X_test).argmax(axis=1)
    record["test_accuracy"] = float((predictions == y_test).mean())
    return record


def report(record):
    """A few lines: the mean activation of each hidden layer over training, and the gradients' spread."""
    name = f"{record['activation']}, {record['initialisation']} initialisation"
    lines = [f"{name}: test accuracy {record['test_accuracy']:.1%}"]
    header = "  updates  " + "  ".join(f"layer {i + 1:<2}" for i in range(record["depth"]))
    lines.append(header + "   (mean activation on 300 test images)")
    shown = marks(record)
    for update, means in zip(record["updates"], record["mean"], strict=True):
        if update in shown:
            lines.append(f"  {update:7d}  " + "  ".join(f"{m:8.3f}" for m in means))
    stds = record["grad_std"]
    lines.append(
        "  std of ∂L/∂s at the start, layer 1 to top: "
        + " ".join(f"{s:.2e}" for s in stds)
        + f"; top/bottom ratio {max(stds) / min(stds):.2f}"
    )
    return "\n".join(lines)


def marks(record):
    """The updates shown in the printed table: the start, early training and the end."""
    updates = record["updates"]
    picks = {updates[0], updates[1], updates[2], updates[len(updates) // 4], updates[len(updates) // 2], updates[-1]}
    return sorted(picks)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 × 256 units and fewer updates (for CI)")
    parser.add_argument("--json", type=Path, help="write everything recorded to this JSON file")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("MINNET_QUICK") == "1"
    settings = QUICK if quick else FULL
    data = load_data()
    print(
        f"digits: {len(data[0])} training images, {len(data[2])} test; {settings['depth']} hidden layers of "
        f"{settings['width']} units, SGD lr 0.1 on batches of 10, {settings['updates']} updates "
        f"({'quick' if quick else 'full'} run)"
    )
    records = []
    for activation, initialisation in RUNS:
        start = time.perf_counter()
        record = run(activation, initialisation, data, **settings)
        record["seconds"] = time.perf_counter() - start
        records.append(record)
        print(report(record) + f"\n  ({record['seconds']:.0f} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(records), encoding="utf-8")


if __name__ == "__main__":
    main()
