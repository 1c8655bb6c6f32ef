"""Every layer and loss against PyTorch (CPU) with the same weights: forward outputs
and every gradient, in float64 (tolerance 1e-10) and float32 (1e-5), in train and
eval mode where they differ.

Marked ``oracle``: where torch is missing each test is skipped with the reason,
and under CI (``CI=true``) tests/conftest.py turns any such skip into a failure."""

from __future__ import annotations

import numpy as np
import pytest

from minnet import (
    ELU,
    GELU,
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    Concat,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    HuberLoss,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MSELoss,
    NLLLoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)

pytestmark = pytest.mark.oracle

TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip(
        "torch", reason="the oracle tests compare minnet with PyTorch; install the test extra (torch==2.13.0 CPU)"
    )


def close(ours, theirs, dtype):
    """Equal within the dtype's tolerance, and of the same dtype (no silent upcast)."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    if ours.ndim:  # a loss value comes back as a Python float
        assert ours.dtype == dtype, f"minnet gave {ours.dtype}, expected {np.dtype(dtype)}"
    np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


def tensor(torch, array, grad=False):
    return torch.tensor(np.array(array), requires_grad=grad)


def copy_linear(torch, ours):
    """A torch.nn.Linear with minnet's weights (torch stores W transposed: (out, in))."""
    dtype = getattr(torch, str(ours.weight.data.dtype))
    theirs = torch.nn.Linear(ours.in_features, ours.out_features, bias=ours.bias is not None, dtype=dtype)
    with torch.no_grad():
        theirs.weight.copy_(tensor(torch, ours.weight.data.T))
        if ours.bias is not None:
            theirs.bias.copy_(tensor(torch, ours.bias.data))
    return theirs


# -- activations and shape layers: (id, minnet factory, torch factory, input shape) -------------------------

ELEMENTWISE = [
    ("Sigmoid", Sigmoid, lambda nn: nn.Sigmoid(), (4, 6)),
    ("ReLU", ReLU, lambda nn: nn.ReLU(), (4, 6)),
    ("LeakyReLU", lambda: LeakyReLU(0.2), lambda nn: nn.LeakyReLU(0.2), (4, 6)),
    ("ELU", lambda: ELU(0.7), lambda nn: nn.ELU(0.7), (4, 6)),
    ("Tanh", Tanh, lambda nn: nn.Tanh(), (4, 6)),
    ("Softplus", Softplus, lambda nn: nn.Softplus(), (4, 6)),
    ("Softplus-beta-threshold", lambda: Softplus(2.0, 1.0), lambda nn: nn.Softplus(beta=2.0, threshold=1.0), (4, 6)),
    ("GELU-tanh", GELU, lambda nn: nn.GELU(approximate="tanh"), (4, 6)),
    ("Softmax", Softmax, lambda nn: nn.Softmax(dim=-1), (4, 6)),
    ("Softmax-axis0", lambda: Softmax(axis=0), lambda nn: nn.Softmax(dim=0), (4, 6)),
    ("LogSoftmax", LogSoftmax, lambda nn: nn.LogSoftmax(dim=-1), (4, 6)),
    ("LogSoftmax-3d-axis1", lambda: LogSoftmax(axis=1), lambda nn: nn.LogSoftmax(dim=1), (2, 4, 3)),
    ("Identity", Identity, lambda nn: nn.Identity(), (3, 5)),
    ("Flatten", Flatten, lambda nn: nn.Flatten(), (2, 3, 4)),
    ("Flatten-1-2", lambda: Flatten(1, 2), lambda nn: nn.Flatten(1, 2), (2, 3, 4, 5)),
]


@DTYPES
@pytest.mark.parametrize("ours, theirs, shape", [c[1:] for c in ELEMENTWISE], ids=[c[0] for c in ELEMENTWISE])
def test_parameterless_layer(torch, ours, theirs, shape, dtype):
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    g = rng.standard_normal(np.shape(ours()(x))).astype(dtype)
    layer = ours()
    y = layer(x)
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(torch.nn)(x_t)
    y_t.backward(tensor(torch, g))
    close(y, y_t, dtype)
    close(layer.backward(g), x_t.grad, dtype)


@pytest.mark.parametrize(
    "ours, theirs",
    [(ReLU, "relu"), (Tanh, "tanh"), (Sigmoid, "sigmoid"), (Softplus, "softplus"), (GELU, "gelu")],
    ids=["ReLU", "Tanh", "Sigmoid", "Softplus", "GELU"],
)
def test_extreme_inputs(torch, ours, theirs):
    x = np.array([[-1e4, -30.0, -1e-8, 0.0, 1e-8, 30.0, 1e4]])
    kwargs = {"approximate": "tanh"} if theirs == "gelu" else {}
    layer = ours()
    y = layer(x)
    x_t = tensor(torch, x, grad=True)
    y_t = getattr(torch.nn.functional, theirs)(x_t, **kwargs)
    y_t.backward(torch.ones_like(y_t))
    close(y, y_t, np.float64)
    close(layer.backward(np.ones_like(x)), x_t.grad, np.float64)


# -- layers with parameters ------------------------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("bias", [True, False])
def test_linear(torch, dtype, bias):
    rng = np.random.default_rng(1)
    layer = Linear(3, 5, bias=bias, rng=2, dtype=dtype)
    theirs = copy_linear(torch, layer)
    x, g = rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((4, 5)).astype(dtype)
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(x_t)
    y_t.backward(tensor(torch, g))
    close(layer(x), y_t, dtype)
    close(layer.backward(g), x_t.grad, dtype)
    close(layer.weight.grad, theirs.weight.grad.T, dtype)
    if bias:
        close(layer.bias.grad, theirs.bias.grad, dtype)


@DTYPES
@pytest.mark.parametrize(
    "shape, momentum, affine",
    [((6, 5), 0.1, True), ((4, 3, 5), 0.3, True), ((6, 5), None, True), ((7, 4), 0.1, False)],
    ids=["2d", "3d-momentum-0.3", "momentum-None", "no-affine"],
)
def test_batchnorm1d_train_then_eval(torch, dtype, shape, momentum, affine):
    rng = np.random.default_rng(3)
    c = shape[1]
    ours = BatchNorm1d(c, eps=1e-3, momentum=momentum, affine=affine, dtype=dtype)
    theirs = torch.nn.BatchNorm1d(
        c, eps=1e-3, momentum=momentum, affine=affine, dtype=getattr(torch, str(np.dtype(dtype)))
    )
    if affine:
        ours.weight.data[:] = rng.uniform(0.5, 1.5, c)
        ours.bias.data[:] = rng.standard_normal(c)
        with torch.no_grad():
            theirs.weight.copy_(tensor(torch, ours.weight.data))
            theirs.bias.copy_(tensor(torch, ours.bias.data))
    for step in range(3):  # three training batches: the running statistics accumulate
        x = (2 * rng.standard_normal(shape) + step).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        x_t = tensor(torch, x, grad=True)
        y_t = theirs(x_t)
        y_t.backward(tensor(torch, g))
        close(ours(x), y_t, dtype)
        close(ours.backward(g), x_t.grad, dtype)
        close(ours.running_mean, theirs.running_mean, dtype)
        close(ours.running_var, theirs.running_var, dtype)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == step + 1
    if affine:  # accumulated over the three backwards, in both
        close(ours.weight.grad, theirs.weight.grad, dtype)
        close(ours.bias.grad, theirs.bias.grad, dtype)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(x_t)
    y_t.backward(tensor(torch, g))
    close(ours(x), y_t, dtype)
    close(ours.backward(g), x_t.grad, dtype)
    close(ours.running_mean, theirs.running_mean, dtype)  # eval leaves them alone
    close(ours.running_var, theirs.running_var, dtype)


class _FixedMask:
    """Stands in for Dropout's Generator: ``random`` returns 1 where the mask keeps an
    element and 0 where it drops one, so minnet's Dropout uses the given mask."""

    def __init__(self, keep):
        self.keep = keep

    def random(self, shape):
        assert shape == self.keep.shape
        return self.keep.astype(np.float64)


@DTYPES
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
def test_dropout_train_with_torchs_mask_and_eval_identity(torch, dtype, p):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((8, 16)) + 5).astype(dtype)  # no zeros: the mask can be read off torch's output
    g = rng.standard_normal((8, 16)).astype(dtype)
    theirs = torch.nn.Dropout(p)
    torch.manual_seed(0)
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(x_t)
    y_t.backward(tensor(torch, g))
    layer = Dropout(p)
    layer.rng = _FixedMask(y_t.detach().numpy() != 0)
    close(layer(x), y_t, dtype)
    close(layer.backward(g), x_t.grad, dtype)
    if 0 < p < 1:
        assert 0 < (y_t.detach().numpy() == 0).mean() < 1  # a real mask was compared
    layer.eval(), theirs.eval()
    x_t = tensor(torch, x, grad=True)
    y_t = theirs(x_t)
    y_t.backward(tensor(torch, g))
    close(layer(x), y_t, dtype)
    close(layer.backward(g), x_t.grad, dtype)


# -- containers ----------------------------------------------------------------------------------------------------


@DTYPES
def test_residual_and_concat(torch, dtype):
    rng = np.random.default_rng(5)
    a, b, c = Linear(4, 4, rng=6, dtype=dtype), Linear(4, 2, rng=7, dtype=dtype), Linear(4, 3, rng=8, dtype=dtype)
    model = Sequential(Residual(Sequential(a, Tanh())), Concat(b, Sequential(c, ReLU())))
    a_t, b_t, c_t = (copy_linear(torch, layer) for layer in (a, b, c))
    x, g = rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((5, 5)).astype(dtype)
    x_t = tensor(torch, x, grad=True)
    h_t = x_t + torch.tanh(a_t(x_t))
    y_t = torch.cat([b_t(h_t), torch.relu(c_t(h_t))], dim=-1)
    y_t.backward(tensor(torch, g))
    close(model(x), y_t, dtype)
    close(model.backward(g), x_t.grad, dtype)
    for ours, theirs in ((a, a_t), (b, b_t), (c, c_t)):
        close(ours.weight.grad, theirs.weight.grad.T, dtype)
        close(ours.bias.grad, theirs.bias.grad, dtype)


# -- losses: (id, minnet factory, torch factory, make(rng, dtype) -> (prediction, target)) ---------------------


def _pair(shape):
    return lambda rng, dtype: (rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype))


def _bce(rng, dtype):
    p = rng.uniform(0.02, 0.98, (4, 3))
    p[0, :2], p[1, :2] = 0.0, 1.0  # the clamp of log 0 at −100, and the bounded denominator
    return p.astype(dtype), np.array(rng.random((4, 3)).round(), dtype=dtype)


def _logits(rng, dtype):
    z = 3 * rng.standard_normal((4, 3))
    z[0] = [1e4, -1e4, 0.0]
    return z.astype(dtype), rng.random((4, 3)).astype(dtype)


def _labels(rng, dtype):
    z = 2 * rng.standard_normal((5, 4))
    z[0] = [1e4, -1e4, 0.0, 5.0]  # fused log-sum-exp: finite
    return z.astype(dtype), rng.integers(0, 4, 5)


def _probabilities(rng, dtype):
    z, t = 2 * rng.standard_normal((5, 4)), rng.random((5, 4))
    z[1] = [-1e4, 1e4, 0.0, 0.0]
    return z.astype(dtype), (t / t.sum(axis=1, keepdims=True)).astype(dtype)


def _unnormalised_targets(rng, dtype):
    """Soft targets whose rows do not sum to one: PyTorch takes them as they are."""
    return (2 * rng.standard_normal((5, 4))).astype(dtype), (3 * rng.random((5, 4))).astype(dtype)


def _log_probabilities(rng, dtype):
    z = rng.standard_normal((5, 4))
    return (z - np.log(np.exp(z).sum(axis=1, keepdims=True))).astype(dtype), rng.integers(0, 4, 5)


LOSSES = [
    ("MSELoss", MSELoss, lambda nn, r: nn.MSELoss(reduction=r), _pair((5, 3))),
    ("L1Loss", L1Loss, lambda nn, r: nn.L1Loss(reduction=r), _pair((5, 3))),
    (
        "HuberLoss",
        lambda reduction: HuberLoss(reduction, delta=0.7),
        lambda nn, r: nn.HuberLoss(r, delta=0.7),
        _pair((5, 3)),
    ),
    ("BCELoss", BCELoss, lambda nn, r: nn.BCELoss(reduction=r), _bce),
    ("BCEWithLogitsLoss", BCEWithLogitsLoss, lambda nn, r: nn.BCEWithLogitsLoss(reduction=r), _logits),
    ("CrossEntropyLoss-labels", CrossEntropyLoss, lambda nn, r: nn.CrossEntropyLoss(reduction=r), _labels),
    (
        "CrossEntropyLoss-probabilities",
        CrossEntropyLoss,
        lambda nn, r: nn.CrossEntropyLoss(reduction=r),
        _probabilities,
    ),
    (
        "CrossEntropyLoss-unnormalised-targets",
        CrossEntropyLoss,
        lambda nn, r: nn.CrossEntropyLoss(reduction=r),
        _unnormalised_targets,
    ),
    ("NLLLoss", NLLLoss, lambda nn, r: nn.NLLLoss(reduction=r), _log_probabilities),
]


@DTYPES
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ours, theirs, make", [c[1:] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_loss(torch, ours, theirs, make, reduction, dtype):
    rng = np.random.default_rng(9)
    pred, target = make(rng, dtype)
    loss_fn = ours(reduction=reduction)
    value = loss_fn(pred, target)
    pred_t = tensor(torch, pred, grad=True)
    value_t = theirs(torch.nn, reduction)(pred_t, tensor(torch, target))
    if reduction == "none":
        g = rng.standard_normal(value_t.shape).astype(dtype)
        value_t.backward(tensor(torch, g))
        grad = loss_fn.backward(g)
    else:
        assert isinstance(value, float)
        value_t.backward()
        grad = loss_fn.backward()
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    close(value, value_t, dtype)
    close(grad, pred_t.grad, dtype)


@DTYPES
def test_mse_half_batch_mean_is_half_the_sum_over_n(torch, dtype):
    pred, target = _pair((5, 3))(np.random.default_rng(10), dtype)
    loss_fn = MSELoss()
    pred_t = tensor(torch, pred, grad=True)
    value_t = torch.nn.MSELoss(reduction="sum")(pred_t, tensor(torch, target)) / (2 * 5)
    value_t.backward()
    close(loss_fn(pred, target), value_t, dtype)
    close(loss_fn.backward(), pred_t.grad, dtype)


@DTYPES
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_mlp_with_cross_entropy(torch, dtype, mode):
    """A whole network: every parameter's gradient through the chain."""
    rng = np.random.default_rng(11)
    l1, l2 = Linear(6, 8, rng=12, dtype=dtype), Linear(8, 3, rng=13, dtype=dtype)
    bn = BatchNorm1d(8, dtype=dtype)
    model = Sequential(l1, bn, GELU(), Dropout(0.0), l2)
    l1_t, l2_t = copy_linear(torch, l1), copy_linear(torch, l2)
    bn_t = torch.nn.BatchNorm1d(8, dtype=getattr(torch, str(np.dtype(dtype))))
    model_t = torch.nn.Sequential(l1_t, bn_t, torch.nn.GELU(approximate="tanh"), torch.nn.Dropout(0.0), l2_t)
    getattr(model, mode)()
    getattr(model_t, mode)()
    x, labels = rng.standard_normal((7, 6)).astype(dtype), rng.integers(0, 3, 7)
    loss_fn = CrossEntropyLoss()
    loss = loss_fn(model(x), labels)
    model.backward(loss_fn.backward())
    loss_t = torch.nn.CrossEntropyLoss()(model_t(tensor(torch, x)), torch.tensor(labels))
    loss_t.backward()
    close(loss, loss_t, dtype)
    for ours, theirs in ((l1, l1_t), (l2, l2_t)):
        close(ours.weight.grad, theirs.weight.grad.T, dtype)
        close(ours.bias.grad, theirs.bias.grad, dtype)
    close(bn.weight.grad, bn_t.weight.grad, dtype)
    close(bn.bias.grad, bn_t.bias.grad, dtype)
    close(bn.running_var, bn_t.running_var, dtype)
