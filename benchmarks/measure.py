"""How the benchmark measures: interleaved timing, the matrix-product rate, the equality checks, and the
peak traced memory of a step."""

from __future__ import annotations

import math
import random
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


class MismatchError(RuntimeError):
    """Two implementations of one workload do not compute the same thing: the timings would compare
    different computations, so the benchmark stops instead of printing them."""


@dataclass
class Timing:
    times: list[float]  # seconds per call, one value per repetition
    calls_per_repetition: int

    def summary(self) -> dict[str, Any]:
        q1, median, q3 = np.percentile(self.times, [25, 50, 75])
        return {
            "median_s": float(median),
            "q1_s": float(q1),
            "q3_s": float(q3),
            "min_s": min(self.times),
            "max_s": max(self.times),
            "repetitions": len(self.times),
            "calls_per_repetition": self.calls_per_repetition,
            "times_s": self.times,
        }


def interleaved(
    functions: dict[str, Callable[[], object]],
    *,
    repetitions: int,
    block_seconds: float,
    warmup_rounds: int,
    warmup_calls: int,
    warmup_seconds: float,
    budget_seconds: float | None = None,
    seed: int = 0,
) -> dict[str, Timing]:
    """Time each function, interleaved: in every repetition each function runs one block in turn, the
    order shuffled anew, so a change of machine load touches all of them alike.

    Warm-up: ``warmup_rounds`` rounds in which each function in turn runs ``warmup_calls`` times, or
    longer until ``warmup_seconds`` have passed. Its fastest call sets its block: ``k`` calls, enough
    to last ``block_seconds``, so that even a step of microseconds is timed well above the timer's
    resolution. A repetition's time is the block's time / ``k``. With ``budget_seconds``, fewer
    repetitions (3 at least) are run where the warm-up's times say they would last longer.
    """
    fastest = dict.fromkeys(functions, math.inf)
    for _ in range(warmup_rounds):
        for name, function in functions.items():
            calls, started = 0, time.perf_counter()
            while calls < warmup_calls or time.perf_counter() - started < warmup_seconds:
                t0 = time.perf_counter()
                function()
                fastest[name] = min(fastest[name], time.perf_counter() - t0)
                calls += 1
    blocks = {name: max(1, math.ceil(block_seconds / fastest[name])) for name in functions}
    if budget_seconds is not None:
        round_seconds = sum(blocks[name] * fastest[name] for name in functions)
        repetitions = min(repetitions, max(3, int(budget_seconds / round_seconds)))
    times: dict[str, list[float]] = {name: [] for name in functions}
    order, rng = list(functions), random.Random(seed)
    for _ in range(repetitions):
        rng.shuffle(order)
        for name in order:
            function, k = functions[name], blocks[name]
            started = time.perf_counter()
            for _ in range(k):
                function()
            times[name].append((time.perf_counter() - started) / k)
    return {name: Timing(times[name], blocks[name]) for name in functions}


def matmul(dtype: str, shape: tuple[int, int, int], seed: int = 0) -> tuple[Callable[[], object], int]:
    """``A @ B`` into a preallocated result (``A`` m×k, ``B`` k×n, standard normal), and its 2mkn FLOPs."""
    m, k, n = shape
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    C = np.empty((m, n), dtype)
    return lambda: np.matmul(A, B, out=C), 2 * m * k * n


def matmul_rates(
    dtypes: tuple[str, ...], shape: tuple[int, int, int], torch: Any, **timing: Any
) -> dict[str, dict[str, Any]]:
    """GFLOP/s of ``A @ B`` (``A`` m×k, ``B`` k×n, 2mkn FLOPs, into a preallocated result) for numpy, and
    for PyTorch when installed, each dtype; numpy's rate is what the workloads are measured against."""
    m, k, n = shape
    rng = np.random.default_rng(0)
    functions: dict[str, Callable[[], object]] = {}
    for dtype in dtypes:
        functions[f"numpy {dtype}"], flops = matmul(dtype, shape)
        if torch is not None:
            tA = torch.from_numpy(rng.standard_normal((m, k)).astype(dtype))
            tB, tC = torch.from_numpy(rng.standard_normal((k, n)).astype(dtype)), torch.empty((m, n), dtype=tA.dtype)
            functions[f"PyTorch {dtype}"] = lambda tA=tA, tB=tB, tC=tC: torch.matmul(tA, tB, out=tC)
    results = {}
    for name, timed in interleaved(functions, **timing).items():
        summary = timed.summary()
        results[name] = {
            "shape": f"({m}×{k}) @ ({k}×{n})",
            "flops": flops,
            "gflops": flops / summary["median_s"] / 1e9,
            "gflops_iqr": [flops / summary["q3_s"] / 1e9, flops / summary["q1_s"] / 1e9],
            **{key: value for key, value in summary.items() if key != "times_s"},
        }
    return results


def scalar(loss: Any) -> float:
    """A loss as a float: a number, or a PyTorch tensor (detached first)."""
    return float(loss.detach() if hasattr(loss, "detach") else loss)


def check_same(
    implementations: dict[str, Any], method: str, calls: int, rtol: float, reference: str = "minnet"
) -> dict[str, Any]:
    """Run each implementation's ``method`` (one step, or one epoch) ``calls`` times from its start, and
    compare with ``reference``: the first layer's weights before (equal bit for bit: the same start),
    each call's loss, and the change of the first layer's weights (both within ``rtol``, relative to
    the reference's largest value). A mismatch raises :class:`MismatchError`."""
    before = {name: impl.first_weight() for name, impl in implementations.items()}
    losses = {name: [scalar(getattr(impl, method)()) for _ in range(calls)] for name, impl in implementations.items()}
    change = {name: impl.first_weight() - before[name] for name, impl in implementations.items()}
    ref_losses, ref_change = np.array(losses[reference]), change[reference]
    report: dict[str, Any] = {"reference": reference, "calls": calls, "rtol": rtol, "implementations": {}}
    failures = []
    for name in implementations:
        same_start = bool(np.array_equal(before[name], before[reference]))
        loss_error = float(np.max(np.abs(np.array(losses[name]) - ref_losses)) / np.max(np.abs(ref_losses)))
        change_error = float(np.max(np.abs(change[name] - ref_change)) / np.max(np.abs(ref_change)))
        passed = same_start and loss_error <= rtol and change_error <= rtol
        report["implementations"][name] = {
            "same_start": same_start,
            "losses": losses[name],
            "loss_relative_error": loss_error,
            "weight_change_relative_error": change_error,
            "passed": passed,
        }
        if not passed:
            failures.append(
                f"{name}: same start {same_start}, losses {losses[name]} against {reference}'s "
                f"{losses[reference]} (relative error {loss_error:.2e}), first layer's change off by "
                f"{change_error:.2e} (tolerance {rtol:g})"
            )
    if failures:
        raise MismatchError("; ".join(failures))
    return report


def check_outputs(outputs: dict[str, np.ndarray], rtol: float, reference: str) -> dict[str, Any]:
    """The outputs of the forward implementations agree within ``rtol`` of the reference's largest value."""
    ref = outputs[reference]
    report: dict[str, Any] = {"reference": reference, "rtol": rtol, "implementations": {}}
    failures = []
    for name, out in outputs.items():
        error = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref))) if out.shape == ref.shape else math.inf
        report["implementations"][name] = {"relative_error": error, "passed": error <= rtol}
        if error > rtol:
            failures.append(f"{name}: output of shape {out.shape} off by {error:.2e} (tolerance {rtol:g})")
    if failures:
        raise MismatchError("; ".join(failures))
    return report


def traced_peak(build: Callable[[], Callable[[], object]]) -> int:
    """The peak of memory traced by tracemalloc (numpy reports its arrays to it) during one training
    step in the steady state: tracing starts before ``build()`` makes the model, its data and its step,
    so everything they hold counts; one step runs first (caches and optimizer state exist from then
    on), then the peak of a second step is read."""
    tracemalloc.start()
    try:
        step = build()
        step()
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
