"""Training-step speed of a minnet MLP, as ratios against other implementations in the same run.

One step = forward, loss, backward, SGD update, on the network
Linear(in, hidden) -> Sigmoid -> Linear(hidden, hidden) -> Sigmoid -> Linear(hidden, out) with the
derivation's loss 1/(2N) Σ (Y − ŷ)². The same step is timed for:

- minnet (the layers and Sequential),
- the same step written as plain numpy in one function (the floor for numpy code),
- PyTorch on the CPU, float64 (if installed).

Run:  python benchmarks/bench_mlp.py [--batch 256] [--hidden 256] [--repeat 30] [--quick]
Numbers depend on the machine; compare only the ratios printed by one run.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable

import numpy as np

import minnet


def best_time(step: Callable[[], None], repeat: int) -> float:
    step()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def minnet_step(X: np.ndarray, Y: np.ndarray, hidden: int, lr: float) -> Callable[[], None]:
    model = minnet.Sequential(
        minnet.Linear(X.shape[1], hidden, rng=0),
        minnet.Sigmoid(),
        minnet.Linear(hidden, hidden, rng=1),
        minnet.Sigmoid(),
        minnet.Linear(hidden, Y.shape[1], rng=2),
    )
    loss_fn = minnet.MSELoss()
    optimizer = minnet.SGD(model.parameters(), lr=lr)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(X), Y)
        model.backward(loss_fn.backward())
        optimizer.step()

    return step


def numpy_step(X: np.ndarray, Y: np.ndarray, hidden: int, lr: float) -> Callable[[], None]:
    rng = np.random.default_rng(0)
    sizes = [X.shape[1], hidden, hidden, Y.shape[1]]
    W = [rng.uniform(-1, 1, (a, b)) / np.sqrt(a) for a, b in itertools.pairwise(sizes)]
    b = [np.zeros(n) for n in sizes[1:]]
    n = X.shape[0]

    def step() -> None:
        z1 = 1 / (1 + np.exp(-(X @ W[0] + b[0])))
        z2 = 1 / (1 + np.exp(-(z1 @ W[1] + b[1])))
        out = z2 @ W[2] + b[2]
        g = (out - Y) / n
        gW2, gb2 = z2.T @ g, g.sum(0)
        g = (g @ W[2].T) * z2 * (1 - z2)
        gW1, gb1 = z1.T @ g, g.sum(0)
        g = (g @ W[1].T) * z1 * (1 - z1)
        gW0, gb0 = X.T @ g, g.sum(0)
        for p, gp in zip(W + b, [gW0, gW1, gW2, gb0, gb1, gb2], strict=True):
            p -= lr * gp

    return step


def torch_step(X: np.ndarray, Y: np.ndarray, hidden: int, lr: float) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden),
        torch.nn.Sigmoid(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.Sigmoid(),
        torch.nn.Linear(hidden, Y.shape[1]),
    ).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)

    def step() -> None:
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).sum() / (2 * x.shape[0])
        loss.backward()
        optimizer.step()

    return step


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check that the script runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.features, args.hidden, args.repeat = 8, 4, 8, 2
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.batch, args.features))
    Y = rng.standard_normal((args.batch, 10))
    steps = {"minnet": minnet_step(X, Y, args.hidden, 0.1), "numpy by hand": numpy_step(X, Y, args.hidden, 0.1)}
    torch_version = torch_step(X, Y, args.hidden, 0.1)
    if torch_version is not None:
        steps["PyTorch CPU (float64, 1 thread)"] = torch_version
    timings = {name: best_time(step, args.repeat) for name, step in steps.items()}
    print(f"MLP {args.features}-{args.hidden}-{args.hidden}-10, batch {args.batch}, float64, best of {args.repeat}")
    for name, seconds in timings.items():
        print(f"  {name:<34} {seconds * 1e3:9.3f} ms/step   {seconds / timings['minnet']:6.2f} x minnet")
    return timings


if __name__ == "__main__":
    main()
