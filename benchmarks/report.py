"""The benchmark's report: the targets checked against the measurements, the Markdown tables, and the
block of docs/performance.md they replace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

STEP_IMPLEMENTATIONS = ("minnet", "numpy", "numpy in-place", "PyTorch")
CONV_IMPLEMENTATIONS = ("minnet", "PyTorch")  # the CNNs and the recurrent networks
EPOCH_IMPLEMENTATIONS = ("minnet", "MLPClassifier", "PyTorch")
PREDICT_IMPLEMENTATIONS = ("minnet predict", "minnet model(x)", "numpy", "PyTorch no_grad")

# (row, what, minnet's implementation, the other, the limit on minnet's time ÷ the other's)
RATIO_TARGETS = [
    ("seed", "≤ 1.5× hand-written numpy", "minnet", "numpy", 1.5),
    ("seed", "≥ 5× faster than PyTorch", "minnet", "PyTorch", 1 / 5),
    ("digits", "≤ 1.5× hand-written numpy", "minnet", "numpy", 1.5),
    ("digits", "≥ 5× faster than PyTorch", "minnet", "PyTorch", 1 / 5),
    ("mnist32", "≤ 1.1× in-place numpy", "minnet", "numpy in-place", 1.1),
    ("mnist32", "faster than PyTorch", "minnet", "PyTorch", 1.0),
    ("mnist64", "≤ 1.1× in-place numpy", "minnet", "numpy in-place", 1.1),
    ("mnist64", "faster than PyTorch", "minnet", "PyTorch", 1.0),
    ("deep", "≤ 1.2× hand-written numpy", "minnet", "numpy", 1.2),
    ("digits-epoch", "≥ 3× faster than MLPClassifier", "minnet", "MLPClassifier", 1 / 3),
    ("predict/1", "predict ≤ 1.2× model(x)", "minnet predict", "minnet model(x)", 1.2),
    ("predict/1", "predict at least as fast as PyTorch no_grad", "minnet predict", "PyTorch no_grad", 1.0),
    ("predict/N", "predict no slower than one forward, model(x)", "minnet predict", "minnet model(x)", 1.0),
    ("predict/N", "predict at least as fast as PyTorch no_grad", "minnet predict", "PyTorch no_grad", 1.0),
    ("cnn-digits", "no slower than PyTorch", "minnet", "PyTorch", 1.0),
    ("cnn-28", "≤ 1.5× PyTorch", "minnet", "PyTorch", 1.5),
    ("lstm", "≤ 2× PyTorch", "minnet", "PyTorch", 2.0),
    ("gru2", "≤ 2× PyTorch", "minnet", "PyTorch", 2.0),
]
WIDE_FRACTION = 0.85
# (row, the limit on minnet's peak ÷ the floor, what the floor holds)
MEMORY_TARGETS = [
    ("memory", 1.3, "parameters + gradients + activations + batch"),
    ("cnn-memory", 2.0, "parameters + gradients + optimizer state + batch + activations + im2col buffers"),
]


def median(row: dict[str, Any], name: str) -> float | None:
    return row["implementations"].get(name, {}).get("median_s")


def missing_text(row: dict[str, Any], name: str) -> str:
    return f"{name}: missing ({row['implementations'][name]['missing']})"


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the rows measured: the value, and whether it is met (``None`` when a package it
    compares with is missing)."""
    rows = results["workloads"]
    keyed = dict(rows)
    for key, row in rows.items():
        if row["kind"] == "predict":
            keyed["predict/1" if row["batch"] == 1 else "predict/N"] = row | {"key": key}
    targets = []
    for key, what, mine, other, limit in RATIO_TARGETS:
        if key not in keyed:
            continue
        row = keyed[key]
        a, b = median(row, mine), median(row, other)
        target: dict[str, Any] = {"workload": row.get("key", key)}
        strict = what.startswith("faster than")
        target["target"] = f"{mine} ÷ {other} {'<' if strict else '≤'} {limit:.3g} ({what})"
        if a is None or b is None:
            target.update(value=None, measured=missing_text(row, other if b is None else mine), met=None)
        else:
            target.update(value=a / b, measured=f"{a / b:.3g}", met=a / b < limit if strict else a / b <= limit)
        targets.append(target)
    if "wide" in rows:
        fraction = rows["wide"]["implementations"]["minnet"]["fraction_of_matmul"]
        targets.append(
            {
                "workload": "wide",
                "target": f"minnet's FLOP/s ≥ {WIDE_FRACTION:.0%} of numpy's matrix product's",
                "value": fraction,
                "measured": f"{fraction:.0%}" if fraction is not None else "no matrix-product rate",
                "met": fraction >= WIDE_FRACTION if fraction is not None else None,
            }
        )
    for key, limit, floor in MEMORY_TARGETS:
        if key not in rows:
            continue
        ratio = rows[key]["implementations"]["minnet"]["ratio"]
        targets.append(
            {
                "workload": key,
                "target": f"minnet's peak ≤ {limit}× {floor}",
                "value": ratio,
                "measured": f"{ratio:.2f}",
                "met": ratio <= limit,
            }
        )
    order = list(rows)
    return sorted(targets, key=lambda t: order.index(t["workload"]))  # stable: each row's targets in turn


# -- formatting ----------------------------------------------------------------------------------------


def unit_of(seconds: float) -> tuple[float, str]:
    if seconds < 1e-3:
        return 1e6, "µs"
    if seconds < 1:
        return 1e3, "ms"
    return 1.0, "s"


def number(x: float) -> str:
    return f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def time_cell(entry: dict[str, Any]) -> str:
    """``41.2 µs (40.9–41.8)``: the median and the interquartile range, in one unit."""
    if "missing" in entry:
        return f"missing ({entry['missing']})"
    scale, unit = unit_of(entry["median_s"])
    q1, q3 = number(entry["q1_s"] * scale), number(entry["q3_s"] * scale)
    return f"{number(entry['median_s'] * scale)} {unit} ({q1}–{q3})"


def ratio_cell(row: dict[str, Any], mine: str, other: str) -> str:
    a, b = median(row, mine), median(row, other)
    return f"{a / b:.2f}" if a is not None and b is not None else "–"


def mebibytes(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def check_cell(row: dict[str, Any]) -> str:
    worst = max(
        max(
            entry.get("loss_relative_error", 0.0),
            entry.get("weight_change_relative_error", 0.0),
            entry.get("relative_error", 0.0),
        )
        for entry in row["check"]["implementations"].values()
    )
    return f"agree ({worst:.0e} ≤ {row['check']['rtol']:g})"


def machine_section(results: dict[str, Any]) -> str:
    m, t = results["machine"], results["threads"]
    blas = m["blas"]
    rates = results["matmul"]
    shape = next(iter(rates.values()))["shape"]
    rate_text = ", ".join(f"{name} {entry['gflops']:.1f} GFLOP/s" for name, entry in rates.items())
    torch_text = f"PyTorch {m['torch']}" if m["torch"] else "PyTorch missing (not installed)"
    sklearn_text = f"scikit-learn {m['sklearn']}" if m["sklearn"] else "scikit-learn missing (not installed)"
    torch_threads = f"PyTorch {t['torch']} (interop {t['torch_interop']})" if "torch" in t else "PyTorch –"
    settings = results["timing"]
    requested = "numpy's default" if t["requested"] == "default" else f"`--threads {t['requested']}`"
    lines = [
        f"- Date: {results['date']}; command: `{results['command']}`",
        f"- CPU: {m['cpu']}, {m['cpu_count']} logical CPUs ({m['cpus_usable']} usable); {m['platform']}",
        f"- Load average (1, 5, 15 min): {' / '.join(f'{x:.2f}' for x in results['load_average_start'])} at the "
        f"start, {' / '.join(f'{x:.2f}' for x in results['load_average_end'])} at the end",
        f"- Python {m['python']}, minnet {m['minnet']}, numpy {m['numpy']} (BLAS: {blas['prefix']} {blas['version']}, "
        f"{blas['architecture']} kernels, {blas['threading_layer']}), {torch_text}, {sklearn_text}",
        f"- Threads ({requested}): numpy's BLAS {t['numpy_blas']}, {torch_threads}",
        f"- Matrix product {shape}, timed at the start: {rate_text}. Each training row also times numpy's "
        "product of its dtype in its own repetitions; its FLOP/s are compared with that one",
        f"- {settings['repetitions']} repetitions per workload"
        + (
            f" (fewer, 3 at least, where they would last over {settings['budget_seconds']:g} s)"
            if settings.get("budget_seconds")
            else ""
        )
        + ", interleaved, each a block of calls lasting "
        f"≥ {settings['block_seconds'] * 1e3:g} ms, after a warm-up; times are the median per call and "
        "(the interquartile range)",
    ]
    return "\n".join(lines)


def versus_pytorch_table(rows: list[dict[str, Any]]) -> str:
    """The table of the rows compared with PyTorch alone (the CNNs, the recurrent networks)."""
    header = [
        "workload",
        "network",
        *CONV_IMPLEMENTATIONS,
        "minnet ÷ PyTorch",
        "minnet GFLOP/s (% of the matmul's)",
        "PyTorch GFLOP/s",
        "same result",
    ]
    body = []
    for row in rows:
        mine, theirs = row["implementations"]["minnet"], row["implementations"]["PyTorch"]
        fraction = mine["fraction_of_matmul"]
        body.append(
            [
                row["title"],
                row["description"],
                *(time_cell(row["implementations"][n]) for n in CONV_IMPLEMENTATIONS),
                ratio_cell(row, "minnet", "PyTorch"),
                f"{mine['gflops']:.3g} ({fraction:.0%} of {row['matmul']['gflops']:.3g})",
                f"{theirs['gflops']:.3g}" if "gflops" in theirs else "–",
                check_cell(row),
            ]
        )
    return table(header, body)


def markdown(results: dict[str, Any]) -> str:
    rows = results["workloads"]
    parts = [machine_section(results)]
    steps = [(key, row) for key, row in rows.items() if row["kind"] == "step"]
    if steps:
        header = [
            "workload",
            "network",
            *STEP_IMPLEMENTATIONS,
            "minnet ÷ numpy",
            "minnet ÷ in-place",
            "minnet ÷ PyTorch",
            "minnet GFLOP/s (% of the matmul's)",
            "same result",
        ]
        body = []
        for _, row in steps:
            mine = row["implementations"]["minnet"]
            fraction = mine["fraction_of_matmul"]
            flops = f"{mine['gflops']:.3g} ({fraction:.0%} of {row['matmul']['gflops']:.3g})"
            body.append(
                [
                    row["title"],
                    row["description"],
                    *(time_cell(row["implementations"][n]) for n in STEP_IMPLEMENTATIONS),
                    ratio_cell(row, "minnet", "numpy"),
                    ratio_cell(row, "minnet", "numpy in-place"),
                    ratio_cell(row, "minnet", "PyTorch"),
                    flops,
                    check_cell(row),
                ]
            )
        parts.append(
            "**One training step** (zero_grad, forward, loss, backward, optimizer step)\n\n" + table(header, body)
        )
    epochs = [row for row in rows.values() if row["kind"] == "epoch"]
    if epochs:
        header = [
            "workload",
            "what",
            "minnet `fit`",
            "MLPClassifier",
            "PyTorch loop",
            "minnet ÷ MLPClassifier",
            "minnet ÷ PyTorch",
            "minnet GFLOP/s",
            "same result",
        ]
        body = [
            [
                row["title"],
                row["description"],
                *(time_cell(row["implementations"][n]) for n in EPOCH_IMPLEMENTATIONS),
                ratio_cell(row, "minnet", "MLPClassifier"),
                ratio_cell(row, "minnet", "PyTorch"),
                f"{row['implementations']['minnet']['gflops']:.3g}",
                check_cell(row),
            ]
            for row in epochs
        ]
        parts.append("**One epoch of training**\n\n" + table(header, body))
    predicts = [row for row in rows.values() if row["kind"] == "predict"]
    if predicts:
        header = [
            "workload",
            "what",
            *PREDICT_IMPLEMENTATIONS,
            "predict ÷ model(x)",
            "predict ÷ PyTorch",
            "same result",
        ]
        body = [
            [
                row["title"],
                row["description"],
                *(time_cell(row["implementations"][n]) for n in PREDICT_IMPLEMENTATIONS),
                ratio_cell(row, "minnet predict", "minnet model(x)"),
                ratio_cell(row, "minnet predict", "PyTorch no_grad"),
                check_cell(row),
            ]
            for row in predicts
        ]
        parts.append("**Inference**\n\n" + table(header, body))
    for kind, what in (("conv step", "a CNN"), ("recurrent step", "a recurrent network")):
        same_kind = [row for row in rows.values() if row["kind"] == kind]
        if same_kind:
            parts.append(
                f"**One training step of {what}** (zero_grad, forward, loss, backward, optimizer step)\n\n"
                + versus_pytorch_table(same_kind)
            )
    for row in (row for row in rows.values() if row["kind"] == "memory"):
        floor = row["floor_bytes"]
        parts_text = ", ".join(f"{name.replace('_', ' ')} {mebibytes(n)}" for name, n in floor.items())
        body = [
            [name, mebibytes(entry["peak_bytes"]), f"{entry['ratio']:.2f}"]
            for name, entry in row["implementations"].items()
        ]
        parts.append(
            f"**Peak memory**, {row['title']}: {row['description']} (tracemalloc; PyTorch's allocator is not traced). "
            f"The floor, {mebibytes(sum(floor.values()))}: {parts_text}.\n\n"
            + table(["implementation", "peak traced", "peak ÷ floor"], body)
        )
    targets = results["targets"]
    if targets:
        met = {True: "yes", False: "**no**", None: "n/a"}
        body = [[rows[t["workload"]]["title"], t["target"], t["measured"], met[t["met"]]] for t in targets]
        parts.append(
            "**Targets** (ratios are minnet's time ÷ the other's: above 1, minnet is slower)\n\n"
            + table(["workload", "target", "measured", "met?"], body)
        )
    return "\n\n".join(parts) + "\n"


def update_doc(page: Path, label: str, text: str) -> None:
    """Replace what stands between ``<!-- benchmarks/run.py begin LABEL -->`` and ``... end LABEL -->``."""
    begin, end = f"<!-- benchmarks/run.py begin {label} -->", f"<!-- benchmarks/run.py end {label} -->"
    content = page.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pattern.search(content):
        raise SystemExit(f"{page}: no block {begin} ... {end} to replace")
    page.write_text(pattern.sub(lambda _: f"{begin}\n\n{text}\n{end}", content), encoding="utf-8")
