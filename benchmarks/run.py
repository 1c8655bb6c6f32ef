"""minnet's speed and memory, measured against the same networks in hand-written numpy, PyTorch and
scikit-learn, in one process, interleaved.

    python benchmarks/run.py                     # every workload; a Markdown report on stdout
    python benchmarks/run.py --quick             # fewer repetitions, a smaller epoch, shorter sequences (~ a minute)
    python benchmarks/run.py --only mnist        # the workloads whose name starts so (repeatable)
    python benchmarks/run.py --threads 1         # numpy's BLAS and PyTorch limited to one thread
    python benchmarks/run.py --json out.json     # everything measured, machine-readable
    python benchmarks/run.py --update-doc docs/performance.md   # rewrite the report's block in the page

docs/performance.md explains the design and how to read the tables.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from conv_nets import CNN
from measure import MismatchError, check_outputs, check_same, interleaved, matmul, matmul_rates, traced_peak
from numpy_nets import InPlaceMLP, TextbookMLP
from other_nets import SklearnEpoch, TorchEpoch, TorchRecurrentStep, TorchStep, load_sklearn, load_torch, torch_model
from recurrent_nets import MinnetRecurrentStep, RecurrentNet
from report import evaluate_targets, markdown, update_doc
from threadpoolctl import threadpool_info, threadpool_limits
from workloads import MLP, MinnetEpoch, MinnetStep, Workload, all_workloads, minnet_model, minnet_predict_call

import minnet

MISSING = {"missing": "not installed"}
# relative tolerance of the equality checks: float64's rounding, or float32's summed over a few thousand
# products in another order (a wrong formula is off by percents)
RTOL = {"float64": 1e-9, "float32": 1e-3}
MATMUL_SHAPE = (256, 1024, 2048)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions, a smaller epoch, shorter sequences (about 60 s)"
    )
    parser.add_argument("--only", action="append", metavar="WORKLOAD", help="workloads whose name starts so")
    parser.add_argument("--threads", type=int, help="limit numpy's BLAS (threadpoolctl) and PyTorch to N threads")
    parser.add_argument("--repetitions", type=int, help="repetitions per workload (default 41, quick 5)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write everything measured as JSON")
    parser.add_argument("--update-doc", type=Path, metavar="PAGE", help="replace the report's block in PAGE")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tiny sizes, for the tests
    args = parser.parse_args(argv)
    if args.update_doc and (args.quick or args.smoke or args.only or args.repetitions):
        parser.error("--update-doc writes a full run's report: drop --quick, --only and --repetitions")
    names = [w.name for w in all_workloads()]
    for prefix in args.only or []:
        if not any(name.startswith(prefix) for name in names):
            parser.error(f"--only {prefix}: no workload starts so; the workloads: {', '.join(names)}")
    return args


def command(args: argparse.Namespace) -> str:
    """The command line that measures the same (where the output goes left out)."""
    words = ["python benchmarks/run.py"]
    words += ["--quick"] * args.quick + ["--smoke"] * args.smoke
    words += [f"--only {prefix}" for prefix in args.only or []]
    words += [f"--{name} {getattr(args, name)}" for name in ("threads", "repetitions") if getattr(args, name)]
    return " ".join(words)


def timing_settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.smoke:
        settings = {"repetitions": 2, "block_seconds": 0.0, "warmup_rounds": 1, "warmup_calls": 1}
    elif args.quick:
        settings = {"repetitions": 5, "block_seconds": 0.004, "warmup_rounds": 1, "warmup_calls": 1}
        settings["budget_seconds"] = 6.0  # the wide network: 3 repetitions
    else:
        settings = {"repetitions": 41, "block_seconds": 0.02, "warmup_rounds": 2, "warmup_calls": 2}
    settings["warmup_seconds"] = 0.0 if args.smoke else 0.03 if args.quick else 0.1
    if args.repetitions:
        settings["repetitions"] = args.repetitions
    return settings


def numpy_blas() -> dict[str, Any]:
    """numpy's own BLAS, as threadpoolctl sees it."""
    blas = [e for e in threadpool_info() if e["user_api"] == "blas"]
    own = [e for e in blas if f"{os.sep}numpy" in e["filepath"]]
    return (own or blas or [{}])[0]


def set_threads(args: argparse.Namespace, stack: ExitStack, torch: Any) -> dict[str, Any]:
    """``--threads N`` limits every thread pool threadpoolctl knows (numpy's BLAS among them); PyTorch is
    then given as many threads as numpy's BLAS has."""
    if args.threads:
        stack.enter_context(threadpool_limits(limits=args.threads))
    blas_threads = numpy_blas().get("num_threads")
    threads: dict[str, Any] = {
        "requested": args.threads or "default",
        "numpy_blas": blas_threads,
        "pools": [
            {key: e.get(key) for key in ("user_api", "internal_api", "prefix", "num_threads", "filepath")}
            for e in threadpool_info()
        ],
        "environment": {
            name: os.environ[name]
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if name in os.environ
        },
    }
    if torch is not None:
        torch.set_num_threads(args.threads or blas_threads or 1)
        threads["torch"] = torch.get_num_threads()
        threads["torch_interop"] = torch.get_num_interop_threads()
    return threads


def machine(torch: Any, sklearn: Any) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
        cpu = models[0] if models else cpu
    blas = numpy_blas()
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "minnet": minnet.__version__,
        "numpy": np.__version__,
        "blas": {
            key: blas.get(key) for key in ("internal_api", "prefix", "version", "architecture", "threading_layer")
        },
        "torch": torch.__version__ if torch is not None else None,
        "sklearn": sklearn.__version__ if sklearn is not None else None,
    }


def summarize(timings: dict[str, Any], flops: int, rate: float | None) -> dict[str, Any]:
    out = {}
    for name, timing in timings.items():
        summary = timing.summary()
        summary["gflops"] = flops / summary["median_s"] / 1e9
        summary["fraction_of_matmul"] = summary["gflops"] / rate if rate else None
        out[name] = summary
    return out


def numpy_steps(net: MLP | CNN | RecurrentNet) -> tuple[type, ...]:
    """minnet's step, and for an MLP the hand-written numpy ones (there are none for the CNNs and the
    recurrent networks)."""
    if isinstance(net, RecurrentNet):
        return (MinnetRecurrentStep,)
    return (MinnetStep,) if isinstance(net, CNN) else (MinnetStep, TextbookMLP, InPlaceMLP)


def run_step(workload: Workload, torch: Any, timing: dict[str, Any], shape: tuple[int, int, int]) -> dict[str, Any]:
    """The implementations' steps, checked alike, then timed interleaved with numpy's matrix product of
    ``shape`` in the workload's dtype: each FLOP rate is compared with a product timed under the same load."""
    net = workload.net
    weights, (X, Y) = net.initial_weights(), net.make_batch()
    impls: dict[str, Any] = {cls.name: cls(net, weights, X, Y) for cls in numpy_steps(net)}
    if torch is not None:
        torch_step = TorchRecurrentStep if isinstance(net, RecurrentNet) else TorchStep
        impls["PyTorch"] = torch_step(torch, net, weights, X, Y)
    check = check_same(impls, "step", calls=2, rtol=RTOL[net.dtype])
    product, product_flops = matmul(net.dtype, shape)
    timings = interleaved({**{name: impl.step for name, impl in impls.items()}, "matmul": product}, **timing)
    product_summary = timings.pop("matmul").summary()
    rate = product_flops / product_summary["median_s"] / 1e9
    flops = net.train_flops()
    implementations = summarize(timings, flops, rate)
    if torch is None:
        implementations["PyTorch"] = MISSING
    m, k, n = shape
    return {
        "kind": workload.kind,
        "description": net.describe(),
        "flops": flops,
        "matmul": {"shape": f"({m}×{k}) @ ({k}×{n})", "dtype": net.dtype, "gflops": rate, **product_summary},
        "check": check,
        "implementations": {name: implementations[name] for name in [*(c.name for c in numpy_steps(net)), "PyTorch"]},
    }


def digits_data(sklearn: Any, samples: int | None, dtype: str) -> tuple[np.ndarray, np.ndarray, str]:
    if sklearn is not None:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        source = "scikit-learn's digits, pixels / 16"
    else:  # the same shapes, for minnet and PyTorch alone
        rng = np.random.default_rng(0)
        X, y = rng.uniform(0, 16, (1797, 64)), rng.integers(0, 10, 1797)
        source = "random data of the digits' shape (scikit-learn is missing)"
    X, y = (X / 16).astype(dtype)[:samples], y[:samples]
    return X, y, f"{source}, {len(X)} samples"


def run_epoch(workload: Workload, torch: Any, sklearn: Any, timing: dict[str, Any]) -> dict[str, Any]:
    net = workload.net
    X, y, source = digits_data(sklearn, workload.extra["samples"], net.dtype)
    weights = net.initial_weights()

    def build(net: MLP, shuffle: bool) -> dict[str, Any]:
        impls: dict[str, Any] = {"minnet": MinnetEpoch(net, weights, X, y, shuffle)}
        if sklearn is not None:
            impls["MLPClassifier"] = SklearnEpoch(net, weights, X, y, shuffle)
        if torch is not None:
            impls["PyTorch"] = TorchEpoch(torch, net, weights, X, y, shuffle)
        return impls

    # the check: the same batches in order, and ε = 1e-15 where scikit-learn's Adam and PyTorch's agree
    check_net = replace(net, adam_eps=1e-15)
    check = check_same(build(check_net, shuffle=False), "epoch", calls=1, rtol=RTOL[net.dtype])
    check["adam_eps"] = check_net.adam_eps
    timings = interleaved({name: impl.epoch for name, impl in build(net, shuffle=True).items()}, **timing)
    flops = net.train_flops(samples=len(X))
    implementations = summarize(timings, flops, None)
    implementations.setdefault("MLPClassifier", MISSING)
    implementations.setdefault("PyTorch", MISSING)
    description = f"{net.describe()}; one epoch over {source}"
    return {
        "kind": "epoch",
        "description": description,
        "flops": flops,
        "check": check,
        "implementations": {name: implementations[name] for name in ("minnet", "MLPClassifier", "PyTorch")},
    }


def run_predict(workload: Workload, batch: int, torch: Any, timing: dict[str, Any]) -> dict[str, Any]:
    net = workload.net
    weights = net.initial_weights()
    x = np.random.default_rng(2).standard_normal((batch, net.sizes[0])).astype(net.dtype)
    model = minnet_model(net, weights)
    call, predict = minnet_predict_call(model)
    textbook = TextbookMLP(net, weights, x, np.zeros(batch, np.int64))
    functions = {
        "minnet predict": lambda: predict(x),
        "minnet model(x)": lambda: model(x),
        "numpy": lambda: textbook.forward(x)[-1],
    }
    if torch is not None:
        torch_net = torch_model(torch, net, weights).eval()

        def torch_predict() -> np.ndarray:
            with torch.no_grad():
                return torch_net(torch.from_numpy(x)).numpy()

        functions["PyTorch no_grad"] = torch_predict
    check = check_outputs({name: np.asarray(f()) for name, f in functions.items()}, RTOL[net.dtype], "minnet model(x)")
    implementations = summarize(interleaved(functions, **timing), net.forward_flops(batch), None)
    implementations.setdefault("PyTorch no_grad", MISSING)
    description = f"{net.shape_text()} {net.activation}, {net.dtype}, batch {batch}; minnet's predict is {call}"
    return {
        "kind": "predict",
        "batch": batch,
        "predict_call": call,
        "description": description,
        "flops": net.forward_flops(batch),
        "check": check,
        "implementations": implementations,
    }


def run_memory(workload: Workload) -> dict[str, Any]:
    net = workload.net
    weights, (X, Y) = net.initial_weights(), net.make_batch()
    floor = net.state_bytes()
    implementations: dict[str, Any] = {}
    for cls in numpy_steps(net):
        peak = traced_peak(lambda cls=cls: cls(net, weights, X.copy(), Y.copy()).step)
        implementations[cls.name] = {"peak_bytes": peak, "ratio": peak / sum(floor.values())}
    return {
        "kind": "memory",
        "description": f"one step of {net.describe()}",
        "floor_bytes": floor,
        "implementations": implementations,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    timing = timing_settings(args)
    torch, sklearn = load_torch(), load_sklearn()
    selected = [
        w
        for w in all_workloads(smoke=args.smoke, quick=args.quick)
        if not args.only or any(w.name.startswith(prefix) for prefix in args.only)
    ]
    with ExitStack() as stack:
        results: dict[str, Any] = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command(args),
            "machine": machine(torch, sklearn),
            "threads": set_threads(args, stack, torch),
            "timing": timing,
            "load_average_start": list(os.getloadavg()),
        }
        shape = (16, 32, 64) if args.smoke else MATMUL_SHAPE
        results["matmul"] = matmul_rates(("float32", "float64"), shape, torch, **timing)  # at the start
        rows: dict[str, Any] = {}
        for w in selected:
            print(f"measuring {w.title} ...", end=" ", file=sys.stderr, flush=True)
            started = time.perf_counter()
            if w.kind in ("step", "conv step", "recurrent step"):
                rows[w.name] = {"title": w.title, **run_step(w, torch, timing, shape)}
            elif w.kind == "epoch":
                rows[w.name] = {"title": w.title, **run_epoch(w, torch, sklearn, timing)}
            elif w.kind == "predict":
                for batch in w.extra["batches"]:
                    rows[f"{w.name}-{batch}"] = {
                        "title": f"{w.title}, batch {batch}",
                        **run_predict(w, batch, torch, timing),
                    }
            else:
                rows[w.name] = {"title": w.title, **run_memory(w)}
            print(f"{time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        results["workloads"] = rows
        results["load_average_end"] = list(os.getloadavg())
    results["targets"] = evaluate_targets(results)
    text = markdown(results)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.update_doc:
        update_doc(args.update_doc, f"threads={results['threads']['requested']}", text)
    return results


if __name__ == "__main__":
    try:
        main()
    except MismatchError as error:
        sys.exit(f"benchmarks/run.py: the implementations disagree, no timing printed: {error}")
