"""From minnet to PyTorch and back, on scikit-learn's 8×8 digits (1,797 samples, no download):

1. train Linear(64, 64) -> ReLU -> Linear(64, 10) in minnet with Adam for a few epochs;
2. move the model and the optimizer's state to PyTorch (``minnet.interop.to_torch``,
   ``optimizer_to_torch``) and continue training there, where it stopped;
3. continue under ``torch.nn.parallel.DistributedDataParallel`` with the gloo backend:
   two processes on 127.0.0.1, each on its half of every batch, and check that after
   5 steps their weights equal a single-process run over the whole batches;
4. bring the PyTorch model back (``from_torch``) and ``explain`` its backward pass.

Prints the test accuracy after each stage, the largest weight difference between the
two-process and the one-process run, and the first rows of the explained pass.

Run from a checkout:  pip install -e ".[torch,examples]"; python examples/continue_in_torch.py
(``--quick``: fewer epochs, as the test suite runs it.)
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import minnet
from minnet.interop import from_torch, optimizer_to_torch, to_torch

BATCH, DDP_STEPS, WORLD = 64, 5, 2


def digits() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    return X_train.astype(np.float32), X_test.astype(np.float32), y_train, y_test


def build_model() -> minnet.Sequential:
    return minnet.Sequential(
        minnet.Linear(64, 64, rng=0, dtype=np.float32), minnet.ReLU(), minnet.Linear(64, 10, rng=1, dtype=np.float32)
    )


def torch_accuracy(model: torch.nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(X)).argmax(dim=1).numpy()
    model.train()
    return float(np.mean(predicted == y))


def torch_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, X: np.ndarray, y: np.ndarray,
                batches: list[np.ndarray]) -> None:  # fmt: skip
    """One optimizer step per batch of indices, cross-entropy averaged over the batch."""
    for rows in batches:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X[rows])), torch.from_numpy(y[rows]))
        loss.backward()
        optimizer.step()


def ddp_worker(rank: int, port: int, folder: Path) -> None:
    """One of the WORLD processes: the exported model, its half of each batch, DDP averaging the gradients."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        model = to_torch(build_model())  # the architecture, then the weights stage 2 left (no pickled code)
        model.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
        data = np.load(folder / "batches.npz")
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        optimizer = torch.optim.SGD(ddp.parameters(), lr=0.05)
        X, y = data["X"], data["y"]
        shards = [rows[rank::WORLD] for rows in data["batches"]]  # equal halves: the mean of means is the mean
        torch_steps(ddp, optimizer, X, y, shards)
        if rank == 0:
            torch.save(model.state_dict(), folder / "ddp_weights.pt")
    finally:
        torch.distributed.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_ddp(model: torch.nn.Module, X: np.ndarray, y: np.ndarray, batches: np.ndarray, folder: Path) -> float:
    """Train a copy of ``model`` for DDP_STEPS steps in WORLD gloo processes and one copy in this process;
    return the largest difference between their weights."""
    torch.save(model.state_dict(), folder / "weights.pt")
    np.savez(folder / "batches.npz", X=X, y=y, batches=batches)
    port = free_port()
    workers = [
        subprocess.Popen([sys.executable, __file__, "--ddp-worker", str(rank), str(port), str(folder)])
        for rank in range(WORLD)
    ]
    try:
        codes = [worker.wait(timeout=120) for worker in workers]
    finally:
        for worker in workers:  # leave no process behind, whatever happened
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    if codes != [0] * WORLD:
        raise RuntimeError(f"the DDP workers exited with {codes}")
    single = to_torch(build_model())
    single.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
    torch_steps(single, torch.optim.SGD(single.parameters(), lr=0.05), X, y, list(batches))
    ddp_weights = torch.load(folder / "ddp_weights.pt", weights_only=True)
    return max(float((ddp_weights[name] - value).abs().max()) for name, value in single.state_dict().items())


def main(quick: bool) -> None:
    started = time.perf_counter()
    X_train, X_test, y_train, y_test = digits()

    # 1. minnet
    model = build_model()
    optimizer = minnet.Adam(model.parameters(), lr=5e-3)
    minnet.fit(model, minnet.CrossEntropyLoss(), optimizer, X_train, y_train, epochs=2 if quick else 5,
               batch_size=BATCH, rng=0, progress=False)  # fmt: skip
    print(f"minnet, after training: test accuracy {minnet.metrics.accuracy(minnet.predict(model, X_test), y_test):.2%}")

    # 2. PyTorch, one process, from where minnet stopped (weights and Adam's moments)
    torch_model = to_torch(model)
    torch_optimizer = optimizer_to_torch(optimizer, torch_model)
    print(f"PyTorch, as exported: test accuracy {torch_accuracy(torch_model, X_test, y_test):.2%}")
    order = np.random.default_rng(1)
    for _ in range(2 if quick else 10):
        permutation = order.permutation(len(y_train))
        torch_steps(torch_model, torch_optimizer, X_train, y_train, np.array_split(permutation, len(y_train) // BATCH))
    print(f"PyTorch, after training: test accuracy {torch_accuracy(torch_model, X_test, y_test):.2%}")

    # 3. DistributedDataParallel, two gloo processes on this machine
    batches = order.permutation(len(y_train))[: DDP_STEPS * BATCH].reshape(DDP_STEPS, BATCH)
    with tempfile.TemporaryDirectory() as folder:
        difference = run_ddp(torch_model, X_train, y_train, batches, Path(folder))
    print(f"DDP, {WORLD} processes against 1, after {DDP_STEPS} steps: largest weight difference {difference:.1e}")

    # 4. back to minnet, and the backward pass explained
    back = from_torch(torch_model)
    print(f"minnet, imported back: test accuracy {minnet.metrics.accuracy(minnet.predict(back, X_test), y_test):.2%}")
    trace = minnet.explain(back, minnet.CrossEntropyLoss(), X_test[:8], y_test[:8])
    print("\n".join(str(trace).splitlines()[:4]))
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--ddp-worker":
        ddp_worker(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--quick", action="store_true", help="fewer epochs (the test suite's run)")
        main(parser.parse_args().quick)
