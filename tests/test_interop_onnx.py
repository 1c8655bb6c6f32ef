"""minnet.interop.export_onnx: every layer case of the registry (tests/cases.py) that has an ONNX export, and
networks that mix them, written to ONNX and run with onnxruntime at two batch sizes (the graph's batch is
dynamic), against minnet's eval-mode output: within 1e-5 in float32, 1e-7 in float64 (ONNX keeps float
attributes, LeakyReLU's slope, ELU's α, in float32). Then the refusals: a layer without an export, named with its
path, before anything is written; onnx missing; a graph whose output differs.

Marked ``onnx``: where onnx or onnxruntime is missing each test is skipped with the reason, and under CI
(``CI=true``) tests/conftest.py turns any such skip into a failure (test_a_skipped_onnx_test_fails_under_ci)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cases import LAYER_CASES, RECURRENT_CASES, with_statistics
from test_oracle_layers import in_dtype  # the registry builds float64 layers

from minnet import (
    ELU,
    GELU,
    LSTM,
    SELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv1d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Hardsigmoid,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    MultiheadAttention,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from minnet.interop import export_onnx
from minnet.nn.recurrent import GRU, RNN, GRUCell, LSTMCell, RNNCell

pytestmark = pytest.mark.onnx

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-7}
#: The layer cases without an ONNX export: test_unsupported_cases_are_refused checks that each is refused.
UNSUPPORTED = (RNNCell, GRUCell)
#: onnxruntime's CPU kernels for these ONNX ops are float32 only: their float64 graphs are valid ONNX that
#: onnxruntime cannot run (test_float64_conv_pool_and_elu_need_float32).
FLOAT32_ONLY = (Conv1d, Conv2d, AvgPool2d, ELU, SELU, Hardsigmoid, RNN, LSTM, GRU)


@pytest.fixture(scope="module")
def ort():
    pytest.importorskip("onnx", reason="the ONNX export needs onnx; install the test extra (onnx==1.23.2)")
    return pytest.importorskip(
        "onnxruntime", reason="the ONNX tests run the graphs with onnxruntime; install the test extra"
    )


def exact_gelu(model):
    """Whether the model holds GELU(approximate="none"): onnxruntime's Erf kernel is float32 only."""
    return any(getattr(layer, "approximate", None) == "none" for _, layer in model.named_layers())


def session(ort, path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def leaves(value):
    """A nested tuple's arrays in order: a recurrent layer's ``(y, (h, c))`` gives ``[y, h, c]``."""
    return [leaf for item in value for leaf in leaves(item)] if isinstance(value, tuple) else [value]


def compare(ort, model, path, inputs, dtype):
    """Run the file at ``path`` on each input and compare each output with minnet's eval-mode one; the largest
    difference."""
    run = session(ort, path)
    worst = 0.0
    for x in inputs:
        expected = leaves(model.eval()(x))
        outputs = run.run(None, {"input": x})
        assert len(outputs) == len(expected)
        for got, want in zip(outputs, expected, strict=True):
            assert got.dtype == dtype
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
            worst = max(worst, float(np.max(np.abs(got - want), initial=0.0)))
    return worst


def case_input(case, rng, n, dtype):
    shape = (n, *case.input_shape[1:])
    x = case.make_input(rng, shape) if case.make_input else 3 * rng.standard_normal(shape)
    return x.astype(np.int64) if case.build().input_kind == "integer" else x.astype(dtype)


def has(model, classes):
    return any(isinstance(module, classes) for _, module in model.named_layers())


def exported_cases(dtype):
    return [
        pytest.param(case, id=case.id)
        for case in LAYER_CASES
        if not has(case.build(), UNSUPPORTED)
        and not (dtype == np.float64 and (has(case.build(), FLOAT32_ONLY) or exact_gelu(case.build())))
    ]


# -- every layer case of the registry ------------------------------------------------------------------------


@pytest.mark.parametrize("case", exported_cases(np.float32))
def test_layer_case_float32(ort, case, tmp_path):
    check_case(ort, case, np.float32, tmp_path)


@pytest.mark.parametrize("case", exported_cases(np.float64))
def test_layer_case_float64(ort, case, tmp_path):
    check_case(ort, case, np.float64, tmp_path)


def check_case(ort, case, dtype, tmp_path):
    model = in_dtype(case.build(), dtype)
    path = tmp_path / "model.onnx"
    export_onnx(model, path, case.input_shape, dtype=dtype)  # with its own check, too
    rng = np.random.default_rng(0)
    n = case.input_shape[0]
    compare(ort, model, path, [case_input(case, rng, n, dtype), case_input(case, rng, n + 3, dtype)], dtype)


def test_unsupported_cases_are_refused(ort, tmp_path):
    cases = [case for case in LAYER_CASES if has(case.build(), UNSUPPORTED)]
    assert cases
    for case in cases:
        with pytest.raises(TypeError, match=rf"^export_onnx: {type(case.build()).__name__} \(the model itself\)"):
            export_onnx(case.build(), tmp_path / "model.onnx", case.input_shape)
    assert not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize(
    ("model", "shape"),
    [
        (Sequential(Conv2d(2, 3, 3, rng=0), Linear(2, 2, rng=1)), (2, 2, 5, 4)),
        (Sequential(AvgPool2d(2), Linear(2, 2, rng=1)), (2, 1, 4, 4)),
        (Sequential(Linear(4, 2, rng=1), ELU()), (3, 4)),
        (LSTM(3, 2, batch_first=True, rng=0), (2, 4, 3)),
        (Sequential(Linear(3, 3, rng=0), GRU(3, 2, batch_first=True, rng=1)), (2, 4, 3)),
        (RNN(3, 2, batch_first=True, rng=0), (2, 4, 3)),
    ],
    ids=["Conv2d", "AvgPool2d", "ELU", "LSTM", "GRU", "RNN"],
)
def test_float64_models_onnxruntime_runs_in_float32_only(ort, model, shape, tmp_path):
    """onnxruntime cannot run Conv, AveragePool, Elu, RNN, LSTM or GRU in float64: the check says so, and the
    same float64 model exported with dtype=np.float32 runs, its float32 outputs within 1e-5 of minnet's float64
    ones."""
    path = tmp_path / "model.onnx"
    with pytest.raises(RuntimeError, match=r"onnxruntime could not run the exported graph .*dtype=np.float32"):
        export_onnx(model, path, shape)
    assert not path.exists()
    check_float64_model_in_float32(ort, model, shape, tmp_path)


# -- networks that mix the layers -----------------------------------------------------------------------------


def mlp(dtype):
    model = Sequential(
        Linear(6, 16, rng=0, dtype=dtype),
        with_statistics(BatchNorm1d(16, dtype=dtype)),
        ReLU(),
        Dropout(0.5, rng=1),
        Linear(16, 8, rng=2, dtype=dtype),
        Tanh(),
        Dropout(0.2, rng=3),
        Linear(8, 3, rng=4, dtype=dtype),
        LogSoftmax(),
    )
    return model, (5, 6)


def cnn(dtype):
    bn = with_statistics(BatchNorm2d(4))
    model = Sequential(
        Conv2d(2, 4, 3, padding=1, rng=0, dtype=dtype),
        in_dtype(bn, dtype),
        ReLU(),
        MaxPool2d(2),
        Conv2d(4, 6, (2, 3), stride=(1, 2), dilation=(2, 1), rng=1, dtype=dtype),
        LeakyReLU(0.1),
        AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        Flatten(),
        Linear(6 * 3 * 3, 5, rng=2, dtype=dtype),
        Softmax(),
    )
    return model, (3, 2, 8, 10)


def conv1d_net(dtype):
    model = Sequential(
        Conv1d(3, 4, 3, padding="same", rng=0, dtype=dtype),
        GELU(),
        Conv1d(4, 2, 2, stride=2, bias=False, rng=1, dtype=dtype),
        Flatten(1, 2),
        Softplus(beta=2.0, threshold=1.0),
    )
    return model, (4, 3, 9)


def embedding_model(dtype):
    model = Sequential(
        Embedding(11, 4, padding_idx=0, rng=0, dtype=dtype),
        with_affine_layernorm(LayerNorm((5, 4), dtype=dtype)),
        Flatten(),
        Linear(20, 6, rng=1, dtype=dtype),
        GELU(),
        Linear(6, 2, rng=2, dtype=dtype),
    )
    return model, (3, 5)


def with_affine_layernorm(layer):
    rng = np.random.default_rng(5)
    layer.weight.data[...] = rng.uniform(0.5, 1.5, layer.weight.shape)
    layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
    return layer


def residual_concat(dtype):
    model = Sequential(
        Linear(4, 6, rng=0, dtype=dtype),
        Residual(Sequential(Linear(6, 6, rng=1, dtype=dtype), Sigmoid(), Linear(6, 6, rng=2, dtype=dtype))),
        Concat(
            Linear(6, 3, rng=3, dtype=dtype),
            Sequential(Linear(6, 2, rng=4, dtype=dtype), Tanh()),
            Identity(),
            Residual(Sequential(Sequential(Linear(6, 6, rng=5, dtype=dtype)), ReLU())),
        ),
        LayerNorm(17, dtype=dtype),
        Linear(17, 2, bias=False, rng=6, dtype=dtype),
    )
    return model, (7, 4)


def char_lstm(dtype):
    model = Sequential(
        Embedding(13, 5, rng=0, dtype=dtype),
        Linear(5, 6, rng=1, dtype=dtype),
        Tanh(),
        LSTM(6, 4, num_layers=2, bidirectional=True, batch_first=True, rng=2, dtype=dtype),
    )
    return model, (3, 7)


NETWORKS = [mlp, cnn, conv1d_net, embedding_model, residual_concat, char_lstm]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("network", NETWORKS, ids=[n.__name__ for n in NETWORKS])
def test_network(ort, network, dtype, tmp_path):
    model, shape = network(dtype)
    if dtype == np.float64 and has(model, FLOAT32_ONLY):  # exported in float32, compared with minnet in float64
        check_float64_model_in_float32(ort, model, shape, tmp_path)
        return
    model.train()  # exported in eval mode whatever the model's mode, which stays as it was
    path = tmp_path / "model.onnx"
    export_onnx(model, path, shape)
    assert all(module.training for _, module in model.named_layers())
    rng = np.random.default_rng(1)
    inputs = [network_input(model, rng, (n, *shape[1:]), dtype) for n in (shape[0], 1, shape[0] + 4)]
    compare(ort, model, path, inputs, dtype)


def network_input(model, rng, shape, dtype):
    first = model.layers[0] if isinstance(model, Sequential) else model
    if isinstance(first, Embedding):
        return rng.integers(0, first.num_embeddings, shape)
    return rng.standard_normal(shape).astype(dtype)


def check_float64_model_in_float32(ort, model, shape, tmp_path):
    path = tmp_path / "model.onnx"
    export_onnx(model, path, shape, dtype=np.float32)
    run = session(ort, path)
    for n in (shape[0], shape[0] + 3):
        x = network_input(model, np.random.default_rng(n), (n, *shape[1:]), np.float64)
        feed = x if x.dtype.kind == "i" else x.astype(np.float32)
        outputs = run.run(None, {"input": feed})
        for got, want in zip(outputs, leaves(model.eval()(x)), strict=True):
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# -- the sequence layers: batch-first, from a zero state, as the model's last layer ------------------------------


def batch_first_cases():
    return [pytest.param(c, id=c.id) for c in RECURRENT_CASES if "batch-first" in c.id]


@pytest.mark.parametrize("case", batch_first_cases())
def test_recurrent_case(ort, case, tmp_path):
    model = in_dtype(case.build(), np.float32)
    path = tmp_path / "model.onnx"
    export_onnx(model, path, case.input_shape)
    names = [output.name for output in session(ort, path).get_outputs()]
    assert names == ["output", "h_n", "c_n"] if isinstance(model, LSTM) else ["output", "h_n"]
    rng = np.random.default_rng(0)
    n = case.input_shape[0]
    inputs = [rng.standard_normal((m, *case.input_shape[1:])).astype(np.float32) for m in (n, n + 3)]
    compare(ort, model, path, inputs, np.float32)


RECURRENT_OPTIONS = [
    ("one-layer", {}),
    ("bidirectional", {"bidirectional": True}),
    ("no-bias-2-layers", {"bias": False, "num_layers": 2}),
    ("3-layers-dropout", {"num_layers": 3, "dropout": 0.5}),  # dropout between layers: none in eval mode
]


@pytest.mark.parametrize(
    ("layer", "options"),
    [
        pytest.param(layer, options, id=f"{layer.__name__}-{name}")
        for layer in (RNN, LSTM, GRU)
        for name, options in RECURRENT_OPTIONS
    ]
    + [pytest.param(RNN, {"nonlinearity": "relu", "bidirectional": True}, id="RNN-relu-bidirectional")],
)
def test_recurrent_layer(ort, layer, options, tmp_path):
    model = layer(3, 4, batch_first=True, rng=0, dtype=np.float32, **options)
    path = tmp_path / "model.onnx"
    export_onnx(model, path, (2, 5, 3))
    rng = np.random.default_rng(1)
    compare(ort, model, path, [rng.standard_normal((m, 5, 3)).astype(np.float32) for m in (2, 6)], np.float32)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in RECURRENT_CASES if "batch-first" not in c.id])
def test_cells_and_time_major_sequence_layers_are_refused(ort, case, tmp_path):
    if isinstance(case.build(), (RNNCell, LSTMCell, GRUCell)):
        match = r"\(the model itself\) has no ONNX export"
    else:
        match = r"\(the model itself\) is time-major \(batch_first=False\).*batch_first=True"
    with pytest.raises(TypeError, match=match):
        export_onnx(case.build(), tmp_path / "model.onnx", case.input_shape)
    assert not (tmp_path / "model.onnx").exists()


# -- the graph: one node (or a few) per layer, named by its path -------------------------------------------------


def test_graph_mirrors_the_layers_names_and_state_dict(ort, tmp_path):
    import onnx

    model, shape = residual_concat(np.float32)
    path = tmp_path / "model.onnx"
    export_onnx(model, path, shape)
    graph = onnx.load(str(path)).graph
    # a layer of one node: the node is named by its path; a container's own node: "<path>/<op>"
    assert [(node.name, node.op_type) for node in graph.node] == [
        ("0", "Gemm"),
        ("1.block.0", "Gemm"),
        ("1.block.1", "Sigmoid"),
        ("1.block.2", "Gemm"),
        ("1/Add", "Add"),
        ("2.0", "Gemm"),
        ("2.1.0", "Gemm"),
        ("2.1.1", "Tanh"),
        ("2.2", "Identity"),
        ("2.3.block.0.0", "Gemm"),
        ("2.3.block.1", "Relu"),
        ("2.3/Add", "Add"),
        ("2/Concat", "Concat"),
        ("3", "LayerNormalization"),
        ("4", "Gemm"),
    ]
    assert {init.name for init in graph.initializer} >= set(model.state_dict())
    (graph_input,) = graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", 4]
    assert [d.dim_param or d.dim_value for d in graph.output[0].type.tensor_type.shape.dim] == ["N", 2]


def test_the_model_is_left_as_it_was(ort, tmp_path):
    model, shape = mlp(np.float64)
    model.train()
    state = {name: value.copy() for name, value in model.state_dict().items()}
    generator = model.layers[3].rng.bit_generator.state
    export_onnx(model, tmp_path / "model.onnx", shape, dtype=np.float32)
    assert all(module.training for _, module in model.named_layers())
    for name, value in model.state_dict().items():
        assert value.dtype == state[name].dtype
        np.testing.assert_array_equal(value, state[name], err_msg=name)
    assert model.layers[3].rng.bit_generator.state == generator


# -- refusals ---------------------------------------------------------------------------------------------------


class MyLinear(Linear):
    """A subclass may compute something else: it is refused, not exported as a Linear."""


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (Sequential(Linear(4, 4, rng=0), Sequential(ReLU(), LSTMCell(4, 3, rng=1))), r"LSTMCell at '1\.1'"),
        (Residual(Sequential(Linear(4, 4, rng=0), MyLinear(4, 4, rng=1))), r"MyLinear at 'block\.1'"),
        (Concat(Identity(), MultiheadAttention(4, 2, rng=0)), r"MultiheadAttention at '1'"),
    ],
    ids=["LSTMCell", "subclass", "MultiheadAttention"],
)
def test_an_unsupported_layer_is_named_with_its_path_before_anything_is_written(ort, model, named, tmp_path):
    path = tmp_path / "model.onnx"
    with pytest.raises(TypeError, match=rf"^export_onnx: {named} has no ONNX export; supported layers: AvgPool2d"):
        export_onnx(model, path, (2, 4))
    assert not path.exists()


def test_a_graph_that_differs_from_minnet_fails_the_check_and_writes_nothing(ort, tmp_path, monkeypatch):
    from minnet.interop import onnx as exporter

    monkeypatch.setitem(exporter._EMITTERS, ReLU, exporter._EMITTERS[Sigmoid])  # a wrong node for ReLU
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match=r"onnxruntime's output \(shape \(5, 3\)\) differs from minnet's"):
        export_onnx(mlp(np.float32)[0], path, (5, 6))
    assert path.read_bytes() == b"previous"


def test_without_onnx_an_import_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(ImportError, match=r"install minnet's `onnx` extra"):
        export_onnx(Linear(2, 2, rng=0), tmp_path / "model.onnx", (1, 2))


def test_import_minnet_does_not_import_onnx():
    code = "import sys, minnet, minnet.interop; assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- the CI rule: a skipped onnx test is a failure under CI=true ----------------------------------------------


def test_a_skipped_onnx_test_fails_under_ci(tmp_path):
    """tests/conftest.py, copied beside a marked test whose library is missing, as where onnxruntime is not
    installed: a skip outside CI, a failure naming onnxruntime under CI=true."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    onnx: runs onnxruntime\n")
    (tmp_path / "test_marked.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.onnx\n\n"
        "def test_run():\n    pytest.importorskip('minnet_no_such_runtime', reason='runtime missing')\n"
    )
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    results = {}
    for ci in (None, "true"):
        env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": ci} if ci else {})
        results[ci] = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert results[None].returncode == 0, results[None].stdout
    assert "1 skipped" in results[None].stdout, results[None].stdout
    out = results["true"].stdout
    assert results["true"].returncode == 1, out
    assert "1 failed" in out, out
    assert "onnx test skipped under CI=true (Skipped: runtime missing)" in out, out
    assert "CI must run the comparison with onnxruntime" in out, out
