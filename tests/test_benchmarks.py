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
CONV_ROWS = {"cnn-digits", "cnn-28"}
RECURRENT_ROWS = {"lstm", "gru2"}


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
    assert set(rows) == {
        *STEP_ROWS,
        "digits-epoch",
        "predict-1",
        "predict-64",
        "memory",
        *CONV_ROWS,
        "cnn-memory",
        *RECURRENT_ROWS,
    }
    expected = {
        "step": {"minnet", "numpy", "numpy in-place", "PyTorch"},
        "conv step": {"minnet", "PyTorch"},
        "recurrent step": {"minnet", "PyTorch"},
        "epoch": {"minnet", "MLPClassifier", "PyTorch"},
        "predict": {"minnet predict", "minnet model(x)", "numpy", "PyTorch no_grad"},
    }
    memory_implementations = {"memory": {"minnet", "numpy", "numpy in-place"}, "cnn-memory": {"minnet"}}
    for name, row in rows.items():
        if row["kind"] == "memory":
            assert set(row["implementations"]) == memory_implementations[name]
            assert all(entry["ratio"] > 0 for entry in row["implementations"].values())
            continue
        implementations = row["implementations"]
        assert set(implementations) == expected[row["kind"]], name
        assert all(measured_or_missing(entry) for entry in implementations.values()), name
        # every implementation measured was first checked against minnet, and agreed
        measured = {n for n, entry in implementations.items() if "missing" not in entry}
        assert set(row["check"]["implementations"]) == measured, name
        assert all(entry["passed"] for entry in row["check"]["implementations"].values()), name
    for name in STEP_ROWS | CONV_ROWS | RECURRENT_ROWS:
        assert rows[name]["implementations"]["minnet"]["fraction_of_matmul"] > 0
    assert set(rows["cnn-memory"]["floor_bytes"]) >= {"activations", "im2col"}
    targets = {(t["workload"], t["target"]): t for t in results["targets"]}
    assert {workload for workload, _ in targets} == set(rows)
    assert all(t["met"] in (True, False, None) for t in targets.values())
    assert json.loads(path.read_text(encoding="utf-8"))["workloads"].keys() == rows.keys()
    out = capsys.readouterr().out
    assert "| workload | target | measured | met? |" in out
    assert "**One training step of a recurrent network**" in out
    for row in rows.values():
        assert f"| {row['title']} |" in out
    pytest.importorskip("torch")  # where PyTorch is installed, it was measured
    assert all(
        "missing" not in rows[name]["implementations"]["PyTorch"] for name in STEP_ROWS | CONV_ROWS | RECURRENT_ROWS
    )


def test_a_missing_package_is_reported_missing_never_given_a_number(harness, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn", None)
    only = ["--only", "seed", "--only", "digits-epoch", "--only", "predict", "--only", "cnn-digits", "--only", "lstm"]
    results = harness["main"](["--smoke", *only])
    rows = results["workloads"]
    assert set(rows) == {"seed", "digits-epoch", "predict-1", "predict-64", "cnn-digits", "lstm"}
    missing = {"missing": "not installed"}
    assert rows["seed"]["implementations"]["PyTorch"] == missing
    assert rows["cnn-digits"]["implementations"]["PyTorch"] == missing
    assert rows["lstm"]["implementations"]["PyTorch"] == missing
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


def test_the_cnns_flops_and_memory_floor_are_counted_as_docs_performance_md_says(harness):
    from workloads import all_workloads

    nets = {w.name: w.net for w in all_workloads()}
    digits, mnist = nets["cnn-digits"], nets["cnn-28"]
    assert nets["cnn-memory"] == mnist
    assert digits.text() == (  # examples/digits_cnn.py's network
        "Conv2d(1, 16, 3, padding=1) → BatchNorm2d(16) → ReLU → MaxPool2d(2) → Conv2d(16, 32, 3, padding=1) → "
        "BatchNorm2d(32) → ReLU → Flatten → Linear(512, 10)"
    )
    example = runpy.run_path(str(ROOT / "examples" / "digits_cnn.py"))["digits_cnn"]()
    assert [type(layer).__name__ for layer in example] == [
        "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU", "Flatten", "Linear"
    ]  # fmt: skip
    # 2·m·n·k per product: conv1 (16 × 9)·(9 × 64·8·8), conv2 (32 × 144)·(144 × 64·4·4), linear (64 × 512)·(512 × 10)
    forward = [2 * 16 * 9 * 64 * 64, 2 * 32 * 144 * 64 * 16, 2 * 64 * 512 * 10]
    assert digits.forward_flops() == sum(forward)
    assert digits.train_flops() == 3 * sum(forward) - forward[0]  # no input gradient for the first layer
    assert mnist.shapes()[-3:] == [(64, 5, 5), (1600,), (10,)]
    floor = mnist.state_bytes()
    parameters = (32 * 9 + 32 + 64 * 32 * 9 + 64 + 1600 * 10 + 10) * 4
    assert floor["parameters"] == floor["gradients"] == floor["optimizer_state"] == parameters  # momentum: one each
    # conv 32×26×26, ReLU alike, pool 32×13×13, conv 64×11×11, ReLU alike, pool 64×5×5, linear 10 (Flatten: a view)
    assert floor["activations"] == 64 * (2 * 32 * 26 * 26 + 32 * 13 * 13 + 2 * 64 * 11 * 11 + 64 * 5 * 5 + 10) * 4
    assert floor["im2col"] == (1 * 9 * 64 * 26 * 26 + 32 * 9 * 64 * 11 * 11) * 4
    assert floor["batch"] == 64 * 28 * 28 * 4 + 64 * 8


def test_the_recurrent_networks_flops_are_counted_as_docs_performance_md_says(harness):
    from workloads import all_workloads

    nets = {w.name: w.net for w in all_workloads()}
    lstm, gru2 = nets["lstm"], nets["gru2"]
    assert (lstm.cell, lstm.input_size, lstm.hidden, lstm.num_layers, lstm.seq_len, lstm.batch) == (
        "lstm",
        64,
        256,
        1,
        32,
        32,
    )
    assert (gru2.cell, gru2.num_layers) == ("gru", 2)
    # per step and layer: x W_ih, (32 × in)·(in × G·256), and h W_hh, (32 × 256)·(256 × G·256); over 32 steps
    head = 2 * 32 * 256 * 10
    lstm_ih, lstm_hh = 2 * 32 * 32 * 64 * 1024, 2 * 32 * 32 * 256 * 1024
    assert lstm.forward_flops() == lstm_ih + lstm_hh + head
    assert lstm.train_flops() == 3 * (lstm_ih + lstm_hh + head) - lstm_ih  # no ∂L/∂x of the data
    gru_ih0, gru_hh = 2 * 32 * 32 * 64 * 768, 2 * 32 * 32 * 256 * 768
    assert gru2.train_flops() == 3 * (gru_ih0 + 3 * gru_hh + head) - gru_ih0  # layer 1's W_ih is 256 × 768
    weights = gru2.initial_weights()
    assert [w.shape for w in weights[1]] == [(256, 768), (256, 768), (768,), (768,)]
    assert [w.shape for w in weights[-1]] == [(256, 10), (10,)]


def test_a_cnn_whose_layers_do_not_fit_is_an_error(harness):
    from conv_nets import CNN, FLATTEN, RELU, Conv, Dense

    with pytest.raises(ValueError, match=r"Linear\(500, 10\) after an output of shape \(512,\)"):
        CNN((1, 8, 8), (Conv(1, 8, 3, padding=1), RELU, FLATTEN, Dense(500, 10)), "sgd", 4, "float32", lr=0.1)


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
