"""minnet.interop.torch: models and optimizers exchanged with PyTorch.

- Every layer case of the registry (tests/cases.py: LAYER_CASES, RECURRENT_CASES) and MultiheadAttention:
  to_torch gives the registry's counterpart (the same repr), its state_dict is minnet's in torch's layout
  (``torch_layout``, written independently of the converter), exactly; the outputs agree within 1e-10 (float64)
  in each mode compared; minnet -> torch -> minnet gives back the same bits, dtypes (float64 and float32) and modes;
  from a torch module with torch's own initial values, from_torch gives a layer with the same outputs and back.
- Networks that mix them (an MLP with BatchNorm and Dropout, a small CNN, Embedding -> LSTM, a Residual and a
  Concat): one SGD step and three Adam steps in each framework on the same batch give the same weights and buffers.
- Optimizer state both ways (SGD, Adam, AdamW, RMSprop in their variants): training continues where it stopped.
- Errors name the layer without a counterpart (its class and place); the converted containers pickle; minnet and
  minnet.interop import without torch, and the functions then say which extra brings it.

Marked ``oracle`` (tests/conftest.py: under CI a skip is a failure)."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from cases import LAYER_CASES, RECURRENT_CASES, loss_reductions, torch_layout
from test_oracle_layers import in_dtype

import minnet
from minnet import (
    LSTM,
    SGD,
    Adam,
    AdamW,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Layer,
    Linear,
    MaxPool2d,
    MSELoss,
    MultiheadAttention,
    ReLU,
    Residual,
    RMSprop,
    Sequential,
    Tanh,
)
from minnet.interop import from_torch, loss_to_torch, optimizer_from_torch, optimizer_to_torch, to_torch

pytestmark = [
    pytest.mark.oracle,
    # PyTorch's own note on its speed for Conv*-padding-same with an even kernel (it pads a copy of the input);
    # the same filter as tests/test_oracle_layers.py: the warning is torch's, not minnet's
    pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning"),
]

TOLERANCE = 1e-10


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip(
        "torch", reason="the oracle tests compare minnet with PyTorch; install the test extra (torch==2.13.0 CPU)"
    )


def numpy_of(value):
    """Arrays (nested tuples kept) from torch tensors."""
    if isinstance(value, tuple):
        return tuple(numpy_of(v) for v in value)
    return value.detach().numpy() if hasattr(value, "detach") else value


def assert_close(ours, theirs, tolerance=TOLERANCE):
    """Equal within the tolerance, nested tuples element by element."""
    if isinstance(ours, tuple):
        assert isinstance(theirs, tuple)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert_close(a, b, tolerance)
        return
    np.testing.assert_allclose(ours, numpy_of(theirs), rtol=tolerance, atol=tolerance)


def assert_same_state(a: Layer, b: Layer):
    """Bitwise the same parameters and buffers, with the same dtypes, and the same modes."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert sa[name].dtype == sb[name].dtype, name
        assert np.array_equal(sa[name], sb[name]), name
    assert [(path, type(m), m.training) for path, m in a.named_layers()] == [
        (path, type(m), m.training) for path, m in b.named_layers()
    ]


def layout(ours: Layer, arrays):
    """``arrays`` in torch's layout: the registry's torch_layout (each Linear's and recurrent layer's weights
    transposed) and MultiheadAttention's in_proj_weight transposed too."""
    arrays = torch_layout(ours, arrays)
    attention = {_join(path, "in_proj_weight") for path, m in ours.named_layers() if isinstance(m, MultiheadAttention)}
    return {name: array.T if name in attention else array for name, array in arrays.items()}


def _join(path, name):
    return f"{path}.{name}" if path else name


def assert_torch_state_is(theirs, ours: Layer):
    """torch's state_dict is exactly minnet's in torch's layout (the registry's torch_layout)."""
    expected = layout(ours, ours.state_dict())
    state = theirs.state_dict()
    assert state.keys() == expected.keys()
    for name, value in state.items():
        assert value.numpy().dtype == expected[name].dtype, name
        assert np.array_equal(value.numpy(), expected[name]), name


def input_for(case, rng):
    x = case.make_input(rng, case.input_shape) if case.make_input else 3 * rng.standard_normal(case.input_shape)
    return x


def modes_of(case):
    """The modes compared: those compared with torch in the registry, both for the containers torch lacks."""
    return case.compared_modes if case.torch is not None else ("train", "eval")


# -- every layer case ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LAYER_CASES])
def test_layer_case_to_torch_and_back(torch, case):
    rng = np.random.default_rng(0)
    ours = case.build()
    theirs = to_torch(ours)
    if case.torch is not None:
        assert repr(theirs) == repr(case.torch(torch.nn))
    assert_torch_state_is(theirs, ours)
    x = input_for(case, rng)
    for mode in modes_of(case):
        ours.train(mode == "train")
        theirs = to_torch(ours)
        assert all(m.training == (mode == "train") for m in theirs.modules())
        assert_torch_state_is(theirs, ours)
        assert_same_state(from_torch(theirs), ours)
        with torch.no_grad():
            assert_close(ours(x), theirs(torch.from_numpy(x)))
        assert_trained_alike(theirs, ours)  # the running statistics after a training batch
    ours32 = in_dtype(case.build(), np.float32).eval()
    theirs32 = to_torch(ours32)
    assert all(p.dtype == torch.float32 for p in theirs32.parameters())
    assert_same_state(from_torch(theirs32), ours32)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LAYER_CASES if c.torch is not None])
def test_layer_case_from_torch_and_back(torch, case):
    torch.manual_seed(0)
    theirs = case.torch(torch.nn).double()
    for buffer in theirs.buffers():  # statistics as after some training
        if buffer.is_floating_point():
            buffer.copy_(torch.rand(buffer.shape, dtype=buffer.dtype) + 0.5)
        else:
            buffer.fill_(7)
    x = input_for(case, np.random.default_rng(1))
    for mode in case.compared_modes:
        theirs.train(mode == "train")
        ours = from_torch(theirs)
        assert all(m.training == (mode == "train") for _, m in ours.named_layers())
        assert_torch_state_is(theirs, ours)
        back = to_torch(ours)
        assert repr(back) == repr(theirs)
        for (name, a), (name_b, b) in zip(theirs.state_dict().items(), back.state_dict().items(), strict=True):
            assert name == name_b
            assert a.dtype == b.dtype, name
            assert torch.equal(a, b), name
        with torch.no_grad():
            assert_close(ours(x), theirs(torch.from_numpy(x)))


def flat(value):
    return [a for item in value for a in flat(item)] if isinstance(value, tuple) else [value]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in RECURRENT_CASES])
def test_recurrent_case(torch, case):
    rng = np.random.default_rng(2)
    ours = case.build()
    theirs = to_torch(ours)
    assert repr(theirs) == repr(case.torch(torch.nn))
    assert_torch_state_is(theirs, ours)
    x = rng.standard_normal(case.input_shape)
    for mode in case.modes:
        ours.train(mode == "train")
        theirs.train(mode == "train")
        probe = ours(x)
        template = probe if isinstance(ours, (minnet.RNNCell, minnet.LSTMCell, minnet.GRUCell)) else probe[1]
        hx = tuple(rng.standard_normal(a.shape) for a in flat(template)) if case.state else None
        hx = hx[0] if hx is not None and len(hx) == 1 else hx
        hx_t = None if hx is None else (tuple(map(torch.from_numpy, hx)) if isinstance(hx, tuple) else torch.tensor(hx))
        with torch.no_grad():
            assert_close(ours(x, hx), theirs(torch.from_numpy(x), hx_t))
        assert_same_state(from_torch(theirs), ours)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_multihead_attention(torch, batch_first, bias):
    rng = np.random.default_rng(3)
    ours = MultiheadAttention(6, 3, bias=bias, batch_first=batch_first, rng=4)
    for p in ours.parameters():  # biases that are not zeros
        p.data[...] = rng.standard_normal(p.data.shape)
    theirs = to_torch(ours)
    assert_torch_state_is(theirs, ours)
    q, k, v = (rng.standard_normal((4, 2, 6) if not batch_first else (2, 4, 6)) for _ in range(3))
    with torch.no_grad():
        assert_close(ours(q, k, v), theirs(*map(torch.from_numpy, (q, k, v))))
    assert_same_state(from_torch(theirs), ours)
    torch.manual_seed(0)
    fresh = torch.nn.MultiheadAttention(6, 3, bias=bias, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():
        assert_close(from_torch(fresh)(q, k, v), fresh(*map(torch.from_numpy, (q, k, v))))


# -- networks, trained in both -------------------------------------------------------------------------------------


def mlp():
    return Sequential(
        Linear(6, 8, bias=False, rng=1),
        BatchNorm1d(8),
        ReLU(),
        Dropout(0.3, rng=2),
        Linear(8, 3, rng=3),
        minnet.LogSoftmax(),
    )


def cnn():
    return Sequential(
        Conv2d(2, 3, 3, padding=1, bias=False, rng=4),
        BatchNorm2d(3),
        ReLU(),
        MaxPool2d(2),
        Conv2d(3, 2, (2, 1), rng=5),
        minnet.AvgPool2d((1, 2)),
        Flatten(),
        Linear(2, 3, rng=6),
    )


def embedding_lstm():
    """Indices in, LSTM's tuple out: the loss reads the output sequence."""
    return Sequential(Embedding(9, 4, padding_idx=0, rng=7), LSTM(4, 3, num_layers=2, batch_first=True, rng=8))


def residual_concat():
    return Sequential(
        Residual(Sequential(Linear(4, 4, rng=9), Tanh(), minnet.LayerNorm(4))),
        Concat(Linear(4, 2, rng=10), Sequential(Linear(4, 3, rng=11), minnet.GELU()), Identity()),
        Linear(9, 2, rng=12),
    )


# a bias just before a BatchNorm has a gradient of zero up to rounding, which Adam would scale up to steps of lr:
# those layers have none, as usual
NETWORKS = {
    "mlp-batchnorm-dropout-eval": (mlp, (5, 6), "eval"),
    "mlp-batchnorm-train": (
        lambda: Sequential(Linear(6, 8, bias=False, rng=1), BatchNorm1d(8), Tanh(), Linear(8, 3, rng=3)),
        (5, 6),
        "train",
    ),
    "cnn": (cnn, (3, 2, 4, 5), "train"),
    "embedding-lstm": (embedding_lstm, (2, 5), "train"),
    "residual-concat": (residual_concat, (5, 4), "train"),
}


def network_input(shape, rng):
    return rng.integers(0, 9, shape) if len(shape) == 2 and shape == (2, 5) else rng.standard_normal(shape)


def output(y):
    """The array the loss reads: an LSTM's output sequence."""
    return y[0] if isinstance(y, tuple) else y


def grad_of(y, g):
    """The gradient backward takes: the output's and None for the LSTM's final state."""
    return (g, None) if isinstance(y, tuple) else g


def train_minnet(model, opt, x, target, steps):
    loss_fn = MSELoss(reduction="mean")
    for _ in range(steps):
        opt.zero_grad()
        y = model(x)
        loss_fn(output(y), target)
        model.backward(grad_of(y, loss_fn.backward()))
        opt.step()


def train_torch(torch, model, opt, x, target, steps):
    x_t, target_t = torch.from_numpy(x), torch.from_numpy(target)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(output(model(x_t)), target_t).backward()
        opt.step()


def assert_trained_alike(theirs, ours):
    expected = layout(ours, ours.state_dict())
    state = theirs.state_dict()
    assert state.keys() == expected.keys()
    for name, value in state.items():
        np.testing.assert_allclose(expected[name], value.numpy(), rtol=0, atol=TOLERANCE, err_msg=name)


@pytest.mark.parametrize(("optimizer", "steps"), [("SGD", 1), ("Adam", 3)], ids=["SGD-1-step", "Adam-3-steps"])
@pytest.mark.parametrize("network", list(NETWORKS))
def test_network_trains_alike(torch, network, optimizer, steps):
    build, shape, mode = NETWORKS[network]
    rng = np.random.default_rng(5)
    ours = build().train(mode == "train")
    theirs = to_torch(ours)
    x = network_input(shape, rng)
    with torch.no_grad():  # one forward in each: BatchNorm's running statistics move alike
        y = ours(x)
        assert_close(y, theirs(torch.from_numpy(x)))
    target = rng.standard_normal(np.shape(output(y)))
    if optimizer == "SGD":
        opt, opt_t = SGD(ours.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(theirs.parameters(), 0.1, 0.9)
    else:
        opt, opt_t = Adam(ours.parameters(), lr=0.01), torch.optim.Adam(theirs.parameters(), lr=0.01)
    before = ours.state_dict()
    train_minnet(ours, opt, x, target, steps)
    train_torch(torch, theirs, opt_t, x, target, steps)
    assert not all(np.array_equal(before[k], v) for k, v in ours.state_dict().items())  # it trained
    assert_trained_alike(theirs, ours)
    assert_same_state(from_torch(to_torch(ours)), ours)


# -- optimizer state both ways ---------------------------------------------------------------------------------

OPTIMIZERS = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    (Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    (Adam, {"lr": 0.01, "amsgrad": True, "maximize": True}),
    (Adam, {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    (AdamW, {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    (RMSprop, {"lr": 0.005, "alpha": 0.9}),
    (RMSprop, {"lr": 0.005, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
]
OPTIMIZER_IDS = [cls.__name__ + "(" + ",".join(f"{k}={v}" for k, v in kw.items()) + ")" for cls, kw in OPTIMIZERS]


def small_model():
    """Weights of every layout: transposed (Linear, LSTM), not transposed (BatchNorm), square and not."""
    return Sequential(
        Linear(3, 4, bias=False, rng=20), BatchNorm1d(4), Tanh(), Linear(4, 4, rng=21), Residual(Linear(4, 4, rng=22))
    )


def batch(rng):
    return rng.standard_normal((6, 3)), rng.standard_normal((6, 4))


@pytest.mark.parametrize("case", OPTIMIZERS, ids=OPTIMIZER_IDS)
@pytest.mark.parametrize("steps_before", [0, 3])
def test_minnet_optimizer_continues_in_torch(torch, case, steps_before):
    cls, kwargs = case
    rng = np.random.default_rng(6)
    x, target = batch(rng)
    ours = small_model()
    opt = cls(ours.parameters(), **kwargs)
    train_minnet(ours, opt, x, target, steps_before)
    theirs = to_torch(ours)
    opt_t = optimizer_to_torch(opt, theirs)
    assert type(opt_t).__name__ == cls.__name__
    # the state, transposed like the weights (each Linear's), exactly
    for (name, t), state in zip(theirs.named_parameters(), opt.state, strict=True):
        owner = theirs.get_submodule(name.rpartition(".")[0])
        flip = name.endswith("weight") and isinstance(owner, torch.nn.Linear)
        got = opt_t.state.get(t, {})
        if steps_before == 0:
            assert got == {}
            continue
        assert int(got["step"]) == steps_before  # torch's SGD keeps none of its own: minnet's is carried
        assert got.keys() == {"step", *state}
        for key, array in state.items():
            assert np.array_equal(got[key].numpy(), array.T if flip else array), key
    # a round trip gives the optimizer back, bit for bit
    back = optimizer_from_torch(opt_t, from_torch(theirs))
    assert type(back) is cls
    a, b = opt.state_dict(), back.state_dict()
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        assert np.array_equal(a[name], b[name]), name
    train_minnet(ours, opt, x, target, 3)
    train_torch(torch, theirs, opt_t, x, target, 3)
    assert_trained_alike(theirs, ours)


@pytest.mark.parametrize("case", OPTIMIZERS, ids=OPTIMIZER_IDS)
def test_torch_optimizer_continues_in_minnet(torch, case):
    cls, kwargs = case
    rng = np.random.default_rng(7)
    x, target = batch(rng)
    torch.manual_seed(1)
    theirs = to_torch(small_model())
    for p in theirs.parameters():  # torch's own starting values
        torch.nn.init.normal_(p)
    opt_t = getattr(torch.optim, cls.__name__)(theirs.parameters(), **kwargs)
    train_torch(torch, theirs, opt_t, x, target, 3)
    ours = from_torch(theirs)
    opt = optimizer_from_torch(opt_t, ours)
    assert type(opt) is cls
    assert opt.step_count == (3 if cls is not SGD else int(opt.momentum != 0))  # torch's SGD counts no steps
    train_minnet(ours, opt, x, target, 3)
    train_torch(torch, theirs, opt_t, x, target, 3)
    assert_trained_alike(theirs, ours)


def test_recurrent_optimizer_state_is_transposed(torch):
    """The LSTM's weights: optimizer state (in, 4H) in minnet, (4H, in) in torch."""
    rng = np.random.default_rng(8)
    ours = embedding_lstm()
    x, target = rng.integers(0, 9, (2, 5)), rng.standard_normal((2, 5, 3))
    opt = Adam(ours.parameters(), lr=0.01)
    train_minnet(ours, opt, x, target, 2)
    theirs = to_torch(ours)
    opt_t = optimizer_to_torch(opt, theirs)
    lstm, lstm_t = ours[1], theirs[1]
    i = [id(p) for p in ours.parameters()].index(id(lstm.weight_ih_l1))
    assert np.array_equal(opt_t.state[lstm_t.weight_ih_l1]["exp_avg"].numpy(), opt.state[i]["exp_avg"].T)
    train_minnet(ours, opt, x, target, 2)
    train_torch(torch, theirs, opt_t, x, target, 2)
    assert_trained_alike(theirs, ours)


# -- losses ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "reduction"), loss_reductions(torch=True))
def test_loss_to_torch(torch, case, reduction):
    rng = np.random.default_rng(10)
    pred, target = case.draw(rng)
    ours = case.build(reduction=reduction)
    if reduction == "half_batch_mean":
        with pytest.raises(ValueError, match=r"half_batch_mean.*no PyTorch counterpart"):
            loss_to_torch(ours)
        return
    theirs = loss_to_torch(ours)
    counterpart = case.torch(torch.nn, reduction)
    if isinstance(counterpart, torch.nn.Module):  # a weighted case's counterpart is built per call, in pred's dtype
        assert repr(theirs) == repr(counterpart)
    assert_close(ours(pred, target), theirs(torch.from_numpy(pred), torch.from_numpy(target)))


# -- errors, ties, pickling, the optional import -------------------------------------------------------------------


class Doubling(Layer):
    """A layer of one's own: no counterpart."""

    def forward(self, x):
        return 2 * x

    def backward(self, grad_output):
        return 2 * grad_output


def test_a_layer_without_counterpart_is_named(torch):
    model = Sequential(Linear(2, 2, rng=0), Residual(Sequential(Tanh(), Doubling())))
    with pytest.raises(TypeError, match=r"Doubling at '1\.block\.1' has no PyTorch counterpart"):
        to_torch(model)

    class MyLinear(Linear):
        pass

    with pytest.raises(TypeError, match=r"MyLinear at the top of the model"):
        to_torch(MyLinear(2, 3, rng=0))
    with pytest.raises(TypeError, match="minnet Layer"):
        to_torch(MSELoss())
    with pytest.raises(TypeError, match="Doubling has no PyTorch counterpart"):
        loss_to_torch(Doubling())


def test_a_torch_module_without_counterpart_is_named(torch):
    nn = torch.nn
    with pytest.raises(TypeError, match=r"torch\.nn\.modules\.conv\.Conv3d at '1\.0' has no minnet counterpart"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Conv3d(1, 1, 1))))
    with pytest.raises(ValueError, match=r"Conv2d at the top of the model has groups=2"):
        from_torch(nn.Conv2d(2, 2, 3, groups=2))
    with pytest.raises(ValueError, match=r"LSTM at '0' has proj_size=2"):
        from_torch(nn.Sequential(nn.LSTM(3, 4, proj_size=2)))
    with pytest.raises(TypeError, match="has no conversion"):
        optimizer_from_torch(torch.optim.Adagrad(nn.Linear(2, 2).parameters()), Linear(2, 2))


def test_an_optimizer_over_other_parameters_is_refused(torch):
    model = small_model()
    with pytest.raises(ValueError, match="every parameter of the model"):
        optimizer_to_torch(SGD(list(model.parameters())[:2], lr=0.1), to_torch(model))
    with pytest.raises(ValueError, match="parameter 0"):
        optimizer_to_torch(SGD(Linear(4, 3).parameters(), lr=0.1), torch.nn.Linear(3, 4, bias=True))


def test_tied_weights_stay_tied(torch):
    first, second = Linear(3, 3, rng=0), Linear(3, 3, rng=1)
    second.weight = first.weight
    theirs = to_torch(Sequential(first, Tanh(), second))
    assert theirs[0].weight is theirs[2].weight
    back = from_torch(theirs)
    assert back[0].weight is back[2].weight
    assert len(list(back.parameters())) == 3


def test_converted_containers_pickle(torch):
    ours = residual_concat()
    theirs = pickle.loads(pickle.dumps(to_torch(ours)))
    assert type(theirs[0]).__module__ == "minnet.interop.torch"
    x = np.random.default_rng(9).standard_normal((2, 4))
    with torch.no_grad():
        assert_close(ours(x), theirs(torch.from_numpy(x)))


def test_import_needs_no_torch_and_the_functions_name_the_extra():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import minnet, minnet.interop\n"
        "from minnet.interop import to_torch\n"
        "try:\n"
        "    to_torch(minnet.Linear(2, 2))\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "`torch` extra" in result.stdout


@pytest.mark.oracle
def test_an_optimizer_of_several_groups_is_refused_not_merged():
    pytest.importorskip("torch")
    from minnet import SGD, Linear, Sequential
    from minnet.interop import optimizer_to_torch, to_torch

    model = Sequential(Linear(3, 4, rng=0), Linear(4, 2, rng=1))
    groups = [{"params": list(model[0].parameters())}, {"params": list(model[1].parameters()), "lr": 0.5}]
    with pytest.raises(ValueError, match="optimizer_to_torch: the SGD has 2 parameter groups"):
        optimizer_to_torch(SGD(groups, lr=0.1), to_torch(model))
