"""The benchmark harness keeps running and reporting: tiny sizes, and no timing is asserted."""

import json
import runpy
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
STEP_ROWS = {"seed", "digits", "mnist32", "mnist64", "wide", "deep"}


@pytest.fixture
def harness(monkeypatch):
    """benchmarks/run.py's namespace, its sibling modules found as `python benchmarks/run.py` finds them."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return runpy.run_path(str(BENCHMARKS / "run.py"))


def measured_or_missing(entry):
    return entry == {"missing": "not installed"} or entry["median_s"] > 0


def test_a_smoke_run_measures_every_workload_checks_them_and_writes_json_and_markdown(harness, tmp_path, capsys):
    path = tmp_path / "bench.json"
    results = harness["main"](["--smoke", "--threads", "1", "--json", str(path)])
    rows = results["workloads"]
    assert set(rows) == {*STEP_ROWS, "digits-epoch", "predict-1", "predict-64", "memory"}
    expected = {
        "step": {"minnet", "numpy", "numpy in-place", "PyTorch"},
        "epoch": {"minnet", "MLPClassifier", "PyTorch"},
        "predict": {"minnet predict", "minnet model(x)", "numpy", "PyTorch no_grad"},
    }
    for name, row in rows.items():
        if row["kind"] == "memory":
            assert set(row["implementations"]) == {"minnet", "numpy", "numpy in-place"}
            assert all(entry["ratio"] > 0 for entry in row["implementations"].values())
            continue
        implementations = row["implementations"]
        assert set(implementations) == expected[row["kind"]], name
        assert all(measured_or_missing(entry) for entry in implementations.values()), name
        # every implementation measured was first checked against minnet, and agreed
        measured = {n for n, entry in implementations.items() if "missing" not in entry}
        assert set(row["check"]["implementations"]) == measured, name
        assert all(entry["passed"] for entry in row["check"]["implementations"].values()), name
    for name in STEP_ROWS:
        assert rows[name]["implementations"]["minnet"]["fraction_of_matmul"] > 0
    targets = {(t["workload"], t["target"]): t for t in results["targets"]}
    assert {workload for workload, _ in targets} == set(rows)
    assert all(t["met"] in (True, False, None) for t in targets.values())
    assert json.loads(path.read_text(encoding="utf-8"))["workloads"].keys() == rows.keys()
    out = capsys.readouterr().out
    assert "| workload | target | measured | met? |" in out
    for row in rows.values():
        assert f"| {row['title']} |" in out
    pytest.importorskip("torch")  # where PyTorch is installed, it was measured
    assert all("missing" not in rows[name]["implementations"]["PyTorch"] for name in STEP_ROWS)


def test_a_missing_package_is_reported_missing_never_given_a_number(harness, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn", None)
    results = harness["main"](["--smoke", "--only", "seed", "--only", "digits-epoch", "--only", "predict"])
    rows = results["workloads"]
    assert set(rows) == {"seed", "digits-epoch", "predict-1", "predict-64"}
    missing = {"missing": "not installed"}
    assert rows["seed"]["implementations"]["PyTorch"] == missing
    assert rows["digits-epoch"]["implementations"]["PyTorch"] == missing
    assert rows["digits-epoch"]["implementations"]["MLPClassifier"] == missing
    assert rows["predict-1"]["implementations"]["PyTorch no_grad"] == missing
    assert results["machine"]["torch"] is None
    assert results["machine"]["sklearn"] is None
    for target in results["targets"]:
        if "PyTorch" in target["target"] or "MLPClassifier" in target["target"]:
            assert target["met"] is None
            assert target["value"] is None
            assert "missing (not installed)" in target["measured"]
    out = capsys.readouterr().out
    assert "missing (not installed)" in out
    assert "n/a" in out


def test_implementations_that_disagree_stop_the_benchmark(harness):
    from measure import MismatchError, check_same
    from numpy_nets import InPlaceMLP, TextbookMLP
    from workloads import MinnetStep, all_workloads

    net = next(w.net for w in all_workloads(smoke=True) if w.name == "digits")
    weights, (X, Y) = net.initial_weights(), net.make_batch()
    agreeing = {"minnet": MinnetStep(net, weights, X, Y), "numpy": TextbookMLP(net, weights, X, Y)}
    assert check_same(agreeing, "step", calls=2, rtol=1e-3)["implementations"]["numpy"]["passed"]
    another_rate = {"minnet": MinnetStep(net, weights, X, Y), "numpy": InPlaceMLP(replace(net, lr=2e-3), weights, X, Y)}
    with pytest.raises(MismatchError, match="numpy"):
        check_same(another_rate, "step", calls=2, rtol=1e-3)
    another_start = {"minnet": MinnetStep(net, weights, X, Y), "numpy": TextbookMLP(net, net.initial_weights(1), X, Y)}
    with pytest.raises(MismatchError, match="same start False"):
        check_same(another_start, "step", calls=1, rtol=1e-3)


def test_update_doc_replaces_only_its_own_block(harness, tmp_path):
    page = tmp_path / "page.md"
    begin, end = "<!-- benchmarks/run.py begin threads=1 -->", "<!-- benchmarks/run.py end threads=1 -->"
    page.write_text(f"intro\n{begin}\nold\n{end}\nafter\n")
    harness["update_doc"](page, "threads=1", "new table\n")
    assert page.read_text() == f"intro\n{begin}\n\nnew table\n\n{end}\nafter\n"
    with pytest.raises(SystemExit, match="no block"):
        harness["update_doc"](page, "threads=default", "new table\n")


def test_the_performance_page_has_the_blocks_run_py_updates():
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    for label in ("threads=default", "threads=1"):
        assert f"<!-- benchmarks/run.py begin {label} -->" in page
        assert f"<!-- benchmarks/run.py end {label} -->" in page
